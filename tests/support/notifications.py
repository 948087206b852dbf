"""A minimal freedesktop notification server for the tests (org.freedesktop.Notifications).

Run on a session bus (DBUS_SESSION_BUS_ADDRESS): prints {"ready": <bus address>} once it owns the
name, then one JSON line per Notify call. Exits when its standard input closes.
Needs Debian's python3-dbus and python3-gi (scripts/install-test-servers.sh installs them).
"""
import json
import os

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

import stdin_lines

IFACE = "org.freedesktop.Notifications"

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
loop = GLib.MainLoop()


class Notifications(dbus.service.Object):
    def __init__(self, bus):
        name = dbus.service.BusName(IFACE, bus, do_not_queue=True)
        super().__init__(name, "/org/freedesktop/Notifications")
        self.next_id = 0

    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, timeout):
        self.next_id += 1
        print(json.dumps({
            "id": self.next_id,
            "app_name": str(app_name),
            "summary": str(summary),
            "body": str(body),
            "actions": [str(a) for a in actions],
        }), flush=True)
        return self.next_id

    @dbus.service.method(IFACE, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["body", "actions"]

    @dbus.service.method(IFACE, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("lockwatch-test", "lockwatch", "1.0", "1.2")

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def CloseNotification(self, notification_id):
        self.NotificationClosed(notification_id, 3)

    @dbus.service.signal(IFACE, signature="uu")
    def NotificationClosed(self, notification_id, reason):
        pass

    @dbus.service.signal(IFACE, signature="us")
    def ActionInvoked(self, notification_id, action_key):
        pass


def command(line):
    """Each stdin line is a command: {"invoke": ID, "action": KEY} presses a notification's button."""
    request = json.loads(line)
    server.ActionInvoked(dbus.UInt32(request["invoke"]), request["action"])
    print(json.dumps({"invoked": request["invoke"], "action": request["action"]}), flush=True)


server = Notifications(dbus.SessionBus())
stdin_lines.serve(loop, command)
print(json.dumps({"ready": os.environ["DBUS_SESSION_BUS_ADDRESS"]}), flush=True)
loop.run()
