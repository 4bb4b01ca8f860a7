"""Reading and programming meters through their optical port (IEC 62056-21 mode C):
the client (``client``), what each OBIS code means (``obis``, from docs/obis.md) and the
technician's jobs (``jobs``). The ``prepay read`` command is ``host/cli/read.py``."""
