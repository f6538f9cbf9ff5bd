#!/usr/bin/env python3
"""Write the seed inputs of the agent fuzz target into tests/fuzz/corpus/agent/,
in the operation format of fuzz_agent.c: a whole reading cycle as qemu-ga 7.2
answers it, the reply parser on its own, the /proc parsers, a silent agent.
Run it again after changing the operation format."""
import base64
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'corpus', 'agent')
EXPECT, FEED, DESYNC, MEMINFO, VMSTAT, AGENT, PORT, TIME, BASE64 = range(9)
SYNC, OPEN, READ, CLOSE = range(4)

MEMINFO_TEXT = (b"MemTotal:         486660 kB\nMemFree:          444008 kB\n"
                b"CmaTotal:          65536 kB\nCmaFree:           65152 kB\n"
                b"HugePages_Total:       0\n")
VMSTAT_TEXT = (b"nr_free_pages 110974\nnr_free_cma 16288\nnuma_hit 8722\n"
               b"cma_alloc_success 3\ncma_alloc_fail 0\nunevictable_pgs_culled 0\n")
FLUSH_ERROR = b'{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\uFFFD\'"}}\n'


def blob(op, data, *pre):
    return bytes([op]) + bytes(pre) + struct.pack('<H', len(data)) + data


def read_reply(text, rid=b'$I'):
    return (b'{"return": {"count": %d, "buf-b64": "%s", "eof": true}, "id": %s}\n'
            % (len(text), base64.b64encode(text), rid))


def cycle():
    s = bytes([PORT, 1])
    s += blob(AGENT, FLUSH_ERROR + b'\xff{"return": $I, "id": $I}\n')
    for handle, text in ((1000, MEMINFO_TEXT), (1001, VMSTAT_TEXT)):
        s += blob(AGENT, b'{"return": %d, "id": $I}\n' % handle)
        s += blob(AGENT, read_reply(text))
        s += blob(AGENT, b'{"return": {}, "id": $I}\n')
    return s


def seeds():
    yield 'cycle', cycle() + bytes([TIME]) + struct.pack('<H', 5000) + cycle()[2:]
    yield 'parser', (bytes([EXPECT, SYNC, 5]) + struct.pack('<H', 0)
                     + blob(FEED, FLUSH_ERROR + b'\xff{"return": 5, "id": 5}\n')
                     + bytes([EXPECT, READ, 6]) + struct.pack('<H', 100)
                     + blob(FEED, read_reply(b'CmaFree: 4 kB\n', b'6'))
                     + bytes([EXPECT, CLOSE, 7]) + struct.pack('<H', 0)
                     + blob(FEED, b'{"id": 7, "error": {"class": "GenericError", "desc": '
                                  b'"handle \'1001\' has not been found"}}\n'))
    yield 'figures', (blob(MEMINFO, MEMINFO_TEXT) + blob(VMSTAT, VMSTAT_TEXT, 0)
                      + blob(BASE64, base64.b64encode(VMSTAT_TEXT)))
    yield 'silent', (bytes([PORT, 1, TIME]) + struct.pack('<H', 3000) + bytes([TIME])
                     + struct.pack('<H', 2000)
                     + blob(AGENT, b'\xff{"return": 5, "id": 5}\n{"return": 1000}\n')
                     + bytes([PORT, 0, PORT, 1]))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
