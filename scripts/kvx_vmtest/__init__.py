# SPDX-License-Identifier: GPL-2.0
"""scripts/vmtest's modules, laid out like the kernel's tools/testing/kunit/.

runner.py     the command line, test lists, the run itself (kunit.py)
machine.py    the emulators: QEMU TCG and Bochs, their command lines,
              consoles and timeouts (kunit_kernel.py)
initramfs.py  the guest's init, modules and test binaries
parser.py     the guest's console in, KTAP out (kunit_parser.py)
vmtest_test.py  unit tests of the above, no emulator needed
                (kunit_tool_test.py); test_data/ holds captured consoles
"""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))


def log(msg):
    print(msg, flush=True)


def die(msg):
    print("vmtest: " + msg, file=sys.stderr, flush=True)
    sys.exit(2)
