"""The field image (``prepay provision image``): its size, what the filesystem holds and
how long building and checking it takes, for both layouts. Built from the FAKE
MicroPython image of the tests (tests/fake_micropython_image.py, ~62 KB); a real
MicroPython firmware.bin (~1.6 MB) changes the image's first part only, not its size:
the image always covers the flash up to the end of prepay_keys (4 MiB)."""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import fake_micropython_image as fake  # noqa: E402
from host.provisioning import image  # noqa: E402

CONFIG = os.path.join(ROOT, "boards", "esp32", "examples", "electricity-unit.json")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for layout in sorted(image.PARTITION_TABLES):
            mp = os.path.join(tmp, layout + "-firmware.bin")
            fake.write(mp, layout=layout)
            t0 = time.perf_counter()
            report = image.build_image(mp, CONFIG, os.path.join(tmp, layout + ".bin"),
                                       layout=layout)
            took = time.perf_counter() - t0
            fs = report["filesystem"]
            print("%-6s image %8d bytes (MicroPython %d); LittleFS %d blocks of %d: "
                  "%d files, %d bytes; built and checked in %.1f s"
                  % (layout, report["bytes"], report["micropython_bytes"], fs["block_count"],
                     fs["block_size"], fs["files"], fs["file_bytes"], took))


if __name__ == "__main__":
    main()
