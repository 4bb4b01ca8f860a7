"""The simulator's host side: the bundle it runs, the world and the firmware process
(``runner``), the script language (``script``), the terminal face (``face``) and the
launcher that maps the flash and ROMFS into the Unix port (``power``)."""
