"""What every test-only Krita GUI driver shares: its config and findings, the log, the exit,
polling the GUI, and the empty extension Krita asks a plugin for.

Copied next to a driver into a temporary pykrita folder (tests/krita/support.install_driver);
each driver is a pykrita plugin of its own and imports this module. A driver's findings go to
``CONFIG["out"]`` as JSON before Krita exits, since Krita may crash while quitting.
"""
import json
import os
import sys
import time
import traceback

from krita import Extension, Krita
from neural_style.qt import QtCore
QTimer = QtCore.QTimer
from neural_style.qt import QtWidgets
QApplication = QtWidgets.QApplication

CONFIG = {}
RESULT = {"steps": [], "errors": []}
STARTED = time.monotonic()


def log(message):
    RESULT["steps"].append(f"{time.monotonic() - STARTED:7.1f}s {message}")
    print(f"[driver] {RESULT['steps'][-1]}", file=sys.stderr, flush=True)  # in Krita's log, should it hang


def finish():
    RESULT["elapsed"] = time.monotonic() - STARTED
    path = CONFIG.get("out")
    if path:
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(RESULT, handle, indent=1, default=str)
        os.replace(path + ".tmp", path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # Krita may crash while quitting; the results are already on disk


def fail(where):
    RESULT["errors"].append(f"{where}: {traceback.format_exc()}")
    finish()


def wait_for(condition, then, what, timeout=120.0, interval=200):
    deadline = time.monotonic() + timeout

    def poll():
        try:
            value = condition()
        except Exception:
            fail(f"waiting for {what}")
            return
        if value:
            log(f"ok: {what}")
            try:
                then(value)
            except Exception:
                fail(f"after {what}")
            return
        if time.monotonic() > deadline:
            RESULT["errors"].append(f"timed out waiting for {what}")
            finish()
            return
        QTimer.singleShot(interval, poll)

    QTimer.singleShot(interval, poll)


def top_widget(name):
    return next((w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()), None)


class DriverExtension(Extension):
    def setup(self):
        pass

    def createActions(self, window):
        pass


def boot(variable, make_driver):
    """Register the extension and, when $``variable`` names a config file, load it into CONFIG and
    start ``make_driver()`` (its ``start``) once Krita's window is up. Keep the driver returned."""
    Krita.instance().addExtension(DriverExtension(Krita.instance()))
    path = os.environ.get(variable)
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        CONFIG.update(json.load(handle))
    driver = make_driver()
    QTimer.singleShot(500, driver.start)
    return driver
