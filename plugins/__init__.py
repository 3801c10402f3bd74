"""Built-in detector plugins of adbench-dagmm (import name ``adb_plugins``)."""
