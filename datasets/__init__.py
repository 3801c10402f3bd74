"""Built-in dataset plugins of adbench-dagmm (import name ``adb_datasets``)."""

#: The plugin modules of this package, registered by the core's registry as built-ins.
PLUGINS = ("kddcup99", "kddcup99_rev", "paper", "odds", "adbench", "files")
