import os

# pytest-xdist workers inherit a fixed COLUMNS=80, which Rich would freeze into the CLI's
# consoles when they are imported (by conftest). Without it they measure at print time,
# so the `cli` fixture's width applies under xdist as it does in one process.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
