"""Built-in dataset plugins of adbench-dagmm (import name ``adb_datasets``)."""
