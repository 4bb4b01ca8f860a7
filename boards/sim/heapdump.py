"""The live heap's bytes and the names of what is in it, for bench/bench_heap.py's census.

``micropython.mem_info(1)`` tells which blocks are in use and only a few of their types;
the census needs to know what every block is. After the block map, ``dump`` prints the
heap's bytes and the address of each type it may meet (the built-in ones, every class of
every loaded module) and of each module; the host reads each block's first word (its type)
and the pointers between blocks (``bench/bench_heap.py``). Simulator only, loaded when
asked for.

Console lines: ``@heap WORD_BYTES START END``, ``@mem OFFSET HEX`` (64 bytes each),
``@type ADDRESS NAME``, ``@module ADDRESS NAME``, then ``micropython.qstr_info()``'s line.
"""
import builtins
import micropython
import sys
import uctypes
from binascii import hexlify
from struct import calcsize

_LINE = 64


def _types(seen):
    """Types the built-ins and the loaded modules name, including classes in classes."""
    def f():
        yield seen          # a generator, and a closure over ``seen``
    found = [("function", type(_types)), ("closure", type(f)), ("generator", type(f())),
             ("bound_method", type([].append)), ("module", type(sys))]
    for name in dir(builtins):
        found.append((name, getattr(builtins, name)))
    for mod_name in list(sys.modules):
        module = sys.modules[mod_name]
        for name in dir(module):
            found.append((mod_name + "." + name, getattr(module, name, None)))
    for name, obj in found:
        if isinstance(obj, type) and id(obj) not in seen:
            seen[id(obj)] = name
            print("@type %d %s" % (id(obj), name))
            for attr in dir(obj):
                inner = getattr(obj, attr, None)
                if isinstance(inner, type) and id(inner) not in seen:
                    found.append((name + "." + attr, inner))


def dump(start, end):
    """Print the heap from ``start`` to ``end`` and the names that make sense of it."""
    print("@heap %d %d %d" % (calcsize("P"), start, end))
    memory = memoryview(uctypes.bytearray_at(start, end - start))
    for offset in range(0, end - start, _LINE):
        print("@mem %d %s" % (offset, hexlify(memory[offset:offset + _LINE]).decode()))
    _types({})
    for name in sys.modules:
        print("@module %d %s" % (id(sys.modules[name]), name))
    micropython.qstr_info()
