"""Result sinks and artifact stores. Receives plain records; never talks to a lab."""
