"""The thin lab daemon that runs on each lab host.

It owns the capture and control hardware (or the simulated box) and exposes
them, with frame-local vision primitives, as an authenticated RPyC service.
It holds no test logic, no database and no navigation, and never imports
pytest or the results layer.
"""
