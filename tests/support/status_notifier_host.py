"""A StatusNotifier tray host on the session bus, reading and using tray menus the way a desktop panel does.

Owns org.kde.StatusNotifierWatcher (and says a host is registered), so applications that use
libayatana-appindicator show their tray icon here instead of in an XEmbed tray. The menu of the registered
item is read through com.canonical.dbusmenu (GetLayout) and its entries are chosen with Event "clicked",
which is what GNOME's and KDE's panels call when a person clicks an entry.

Run inside `dbus-run-session`. Prints JSON lines: {"ready": true} once the name is owned,
{"registered": SERVICE} when an item registers, {"unregistered": SERVICE} when its owner leaves the bus.
Reads JSON commands on standard input, one a line:
  {"menu": true}        -> {"menu": [{"id", "label", "enabled", "type", "toggle_type", "toggle_state"}, ...],
                            "icon": IconName, "title": Title, "status": Status}
  {"click": LABEL}      -> {"clicked": LABEL} after sending the entry Event "clicked"
Errors are reported as {"error": TEXT}. Exits when standard input closes.
Needs Debian's python3-dbus and python3-gi.
"""
import json
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

import stdin_lines

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
loop = GLib.MainLoop()
bus = dbus.SessionBus()


def say(value):
    print(json.dumps(value), flush=True)


class Watcher(dbus.service.Object):
    def __init__(self):
        name = dbus.service.BusName(WATCHER, bus, do_not_queue=True)
        super().__init__(name, "/StatusNotifierWatcher")
        # service string -> (bus name, object path)
        self.items = {}
        bus.add_signal_receiver(self.owner_changed, "NameOwnerChanged", "org.freedesktop.DBus")

    @dbus.service.method(WATCHER, in_signature="s", out_signature="", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # libayatana-appindicator passes its object path; other libraries pass a bus name.
        path = service if service.startswith("/") else "/StatusNotifierItem"
        name = sender if service.startswith("/") else service
        key = f"{name}{path}"
        self.items[key] = (str(name), str(path))
        self.StatusNotifierItemRegistered(key)
        say({"registered": key})

    @dbus.service.method(WATCHER, in_signature="s", out_signature="")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemUnregistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="")
    def StatusNotifierHostRegistered(self):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "RegisteredStatusNotifierItems": dbus.Array(list(self.items), signature="s"),
            "ProtocolVersion": dbus.Int32(0),
        }

    def owner_changed(self, name, old, new):
        if new:
            return
        for key, (owner, _) in list(self.items.items()):
            if owner == name:
                del self.items[key]
                self.StatusNotifierItemUnregistered(key)
                say({"unregistered": key})

    def only_item(self):
        if len(self.items) != 1:
            raise RuntimeError(f"{len(self.items)} items registered")
        return next(iter(self.items.values()))


def entries(layout):
    """The top-level entries of a GetLayout answer, (id, properties, children)."""
    _, _, children = layout
    out = []
    for child in children:
        child_id, props, _ = child
        out.append({
            "id": int(child_id),
            "label": str(props.get("label", "")),
            "enabled": bool(props.get("enabled", True)),
            "visible": bool(props.get("visible", True)),
            "type": str(props.get("type", "standard")),
            "toggle_type": str(props.get("toggle-type", "")),
            "toggle_state": int(props.get("toggle-state", -1)),
        })
    return out


def menu_of(name, path):
    item = bus.get_object(name, path)
    props = item.GetAll(ITEM, dbus_interface=dbus.PROPERTIES_IFACE)
    menu = bus.get_object(name, props["Menu"])
    # A panel tells the menu it is about to show it, then reads it, as when a person opens it.
    menu.AboutToShow(0, dbus_interface=MENU)
    _, layout = menu.GetLayout(0, -1, dbus.Array([], signature="s"), dbus_interface=MENU)
    return menu, props, entries(layout)


def command(line):
    request = json.loads(line)
    name, path = watcher.only_item()
    menu, props, items = menu_of(name, path)
    if "menu" in request:
        say({
            "menu": items,
            "icon": str(props.get("IconName", "")),
            "title": str(props.get("Title", "")),
            "status": str(props.get("Status", "")),
        })
    elif "click" in request:
        wanted = [i for i in items if i["label"] == request["click"]]
        if not wanted:
            raise RuntimeError(f"no entry {request['click']!r} in {[i['label'] for i in items]}")
        menu.Event(dbus.Int32(wanted[0]["id"]), "clicked", dbus.Int32(0, variant_level=1),
                   dbus.UInt32(int(time.time())), dbus_interface=MENU)
        say({"clicked": request["click"]})


def reported(line):
    try:
        command(line)
    except Exception as error:  # reported to the test, which fails with it
        say({"error": str(error)})


watcher = Watcher()
watcher.StatusNotifierHostRegistered()
stdin_lines.serve(loop, reported)
say({"ready": True})
loop.run()
