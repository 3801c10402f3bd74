"""Built-in detector plugins of adbench-dagmm (import name ``adb_plugins``)."""

#: The plugin modules of this package, registered by the core's registry as built-ins.
PLUGINS = ("pyod_baselines", "dagmm")
