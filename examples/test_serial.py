"""The serial console: commands at the prompt and the boot log."""


def test_version_command(serial):
    """`version` at the console prompt prints the firmware version and model."""
    out = serial.command("version")
    assert "virtualpy STB firmware 4.2.1" in out
    assert "VPY-STB-1" in out


def test_uptime_command(serial):
    """`uptime` prints how long the box has been up."""
    assert serial.command("uptime").startswith("up ")


def test_boot_log(power, serial, tv_screen):
    """A power cycle prints the boot log, the firmware banner and then the prompt."""
    power.cycle(off_secs=0.5)
    m = serial.expect(r"virtualpy STB firmware (\S+)", timeout=15)
    assert m.groups[0] == "4.2.1"
    serial.expect(r"stb# ", timeout=10)
    assert "Starting kernel" in serial.log()
