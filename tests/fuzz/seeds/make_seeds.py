#!/usr/bin/env python3
"""Write the binary seed inputs of the virtqueue and virtio_* fuzz targets
into tests/fuzz/corpus/, in the operation formats of fuzz_virtqueue.c,
virtio_driver.h and fuzz_virtio_gpu.c: each seed is a well-formed exchange a Linux driver would
have (a read, a write, an indirect chain, an inflate...), for the fuzzer to
mutate. Run it again after changing an operation format.

The other targets' seeds are files of their own kind (DTBs, HTTP requests,
command lines, kernel Images): see docs/fuzzing.md."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', 'corpus')

# ---- virtio_driver.h ----
(WRITE, READ, WRITE_N, MEM, HANDSHAKE, QUEUE, DRIVER_OK, DESC, AVAIL, NOTIFY, RUN,
 ACK, FENCE, UNFENCE, PEEK, HOST) = range(16)
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
VERSION_1, ACCESS_PLATFORM = 1 << 32, 1 << 33
INDIRECT_DESC, EVENT_IDX = 1 << 28, 1 << 29
QSIZE = 16


def handshake(features):
    return struct.pack('<BQ', HANDSHAKE, VERSION_1 | ACCESS_PLATFORM | features)


def queue(q):
    base = 0x1000 * q
    return struct.pack('<BBHHHH', QUEUE, q, QSIZE, base, base + 0x400, base + 0x800)


def desc(q, i, addr, length, flags, nxt=0):
    return struct.pack('<BBHHIHH', DESC, q, i, addr, length, flags, nxt)


def mem(off, data):
    return struct.pack('<BHB', MEM, off, len(data)) + data


def avail(q, head):
    return struct.pack('<BBH', AVAIL, q, head)


def notify(q):
    return struct.pack('<BB', NOTIFY, q)


def start(features, nr_queues):
    ops = handshake(features)
    for q in range(nr_queues):
        ops += queue(q)
    return ops + bytes([DRIVER_OK])


def chain(q, first, bufs):
    """bufs: (addr, len, flags) in order; NEXT is added between them."""
    ops = b''
    for n, (addr, length, flags) in enumerate(bufs):
        more = F_NEXT if n + 1 < len(bufs) else 0
        ops += desc(q, first + n, addr, length, flags | more, first + n + 1)
    return ops


def blk_request(first, kind, sector, data_len, data_flags, hdr=0x8000, data=0x8100,
                status=0x9f00, payload=b''):
    ops = mem(hdr, struct.pack('<IIQ', kind, 0, sector))
    if payload:
        ops += mem(data, payload)
    bufs = [(hdr, 16, 0)]
    if data_len:
        bufs.append((data, data_len, data_flags))
    bufs.append((status, 1, F_WRITE))
    return ops + chain(0, first, bufs) + avail(0, first) + notify(0) + bytes([RUN, ACK])


BLK_FEATURES = (1 << 2) | (1 << 6) | (1 << 9) | (1 << 13) | (1 << 14)
BLK_RO_FEATURES = (1 << 2) | (1 << 5) | (1 << 6) | (1 << 9)


def blk_seeds():
    seg = struct.pack('<QII', 8, 8, 0)
    return {
        'read': start(BLK_FEATURES, 1) + blk_request(0, 0, 1, 512, F_WRITE),
        'write-then-read': start(BLK_FEATURES | EVENT_IDX, 1)
        + blk_request(0, 1, 2, 512, 0, payload=b'cmavm' * 12 + b'abcd')
        + blk_request(3, 0, 0, 1024, F_WRITE, hdr=0x8800, data=0xa000),
        'flush-getid-unsupported': start(BLK_FEATURES, 1)
        + blk_request(0, 4, 0, 0, 0)
        + blk_request(2, 8, 0, 20, F_WRITE, hdr=0x8800, data=0xa000)
        + blk_request(5, 99, 0, 0, 0, hdr=0x8c00),
        'discard-write-zeroes': start(BLK_FEATURES, 1)
        + blk_request(0, 11, 0, 16, 0, payload=seg)
        + blk_request(3, 13, 0, 16, 0, hdr=0x8800, data=0xa000, payload=seg),
        'indirect': start(BLK_FEATURES | INDIRECT_DESC, 1)
        + mem(0x8000, struct.pack('<IIQ', 0, 0, 4))
        + mem(0x9000, struct.pack('<QIHH', 0x40008000, 16, F_NEXT, 1)
              + struct.pack('<QIHH', 0x4000a000, 512, F_NEXT | F_WRITE, 2)
              + struct.pack('<QIHH', 0x40009f00, 1, F_WRITE, 0))
        + desc(0, 0, 0x9000, 48, F_INDIRECT) + avail(0, 0) + notify(0) + bytes([RUN]),
        # The first byte, 11 (ACK), makes the disk read-only (fuzz_virtio_blk.c).
        'readonly-write': bytes([ACK]) + start(BLK_RO_FEATURES, 1)
        + blk_request(0, 1, 0, 512, 0),
        # A read into a range the CMA engine is moving waits for the unfence.
        'fenced-read': start(BLK_FEATURES, 1) + struct.pack('<BHH', FENCE, 0xa000, 0x1000)
        + blk_request(0, 0, 1, 512, F_WRITE, data=0xa000) + bytes([PEEK, UNFENCE, RUN, PEEK]),
        'config-and-reset': start(BLK_FEATURES, 1)
        + struct.pack('<BHB', READ, 0x100, 3) + struct.pack('<BHB', READ, 0x114, 2)
        + struct.pack('<BHI', WRITE, 0x070, 0) + blk_request(0, 0, 0, 512, F_WRITE),
    }


def rng_seeds():
    return {
        'two-buffers': start(0, 1) + chain(0, 0, [(0x8000, 64, F_WRITE), (0x9000, 4096, F_WRITE)])
        + avail(0, 0) + notify(0) + bytes([ACK]),
        'event-idx': start(EVENT_IDX, 1) + mem(0x0400 + 4 + 2 * QSIZE, b'\x01\x00')
        + chain(0, 0, [(0x8000, 32, F_WRITE)]) + avail(0, 0)
        + chain(0, 1, [(0x8100, 32, F_WRITE)]) + avail(0, 1) + notify(0),
        'registers': struct.pack('<BHB', READ, 0x000, 2) + struct.pack('<BHB', READ, 0x008, 2)
        + struct.pack('<BHI', WRITE, 0x014, 1) + struct.pack('<BHB', READ, 0x010, 2)
        + start(0, 1) + struct.pack('<BHI', WRITE, 0x030, 0)
        + struct.pack('<BHB', READ, 0x034, 2) + struct.pack('<BHB', READ, 0x0fc, 2),
    }


def balloon_seeds():
    stats_vq, deflate_on_oom, reporting = 1 << 1, 1 << 2, 1 << 5
    pfns = struct.pack('<4I', 0x40008, 0x40009, 0x4000b, 0x123456)
    stats = b''.join(struct.pack('<HQ', tag, val) for tag, val in
                     [(4, 300 << 20), (5, 480 << 20), (2, 12), (99, 1)])
    return {
        'inflate-deflate': start(deflate_on_oom, 2) + mem(0x7000, pfns)
        + chain(0, 0, [(0x7000, 16, 0)]) + avail(0, 0) + notify(0)
        + chain(1, 0, [(0x7000, 8, 0)]) + avail(1, 0) + notify(1) + bytes([ACK]),
        'stats-report': start(stats_vq | reporting, 4) + mem(0x7000, stats)
        + chain(2, 0, [(0x7000, len(stats), 0)]) + avail(2, 0) + notify(2)
        + chain(3, 0, [(0xc000, 0x2000, F_WRITE)]) + avail(3, 0) + notify(3),
        'host-knobs': start(stats_vq, 3) + struct.pack('<BI', HOST, 64 << 2)
        + struct.pack('<BI', HOST, 1 << 2 | 1) + mem(0x7000, stats)
        + chain(2, 0, [(0x7000, len(stats), 0)]) + avail(2, 0) + notify(2)
        + struct.pack('<BI', HOST, 2) + struct.pack('<BI', HOST, 3) + bytes([PEEK]),
        'config': start(0, 2) + struct.pack('<BHB', READ, 0x100, 2)
        + struct.pack('<BHBQ', WRITE_N, 0x104, 2, 7) + struct.pack('<BHB', READ, 0x104, 2),
    }


# ---- fuzz_virtqueue.c ----
(Q_MEM, Q_DESC, Q_AVAIL, Q_POP, Q_PUSH, Q_NOTIFY, Q_SUPPRESS, Q_READ, Q_WRITE, Q_RESET,
 Q_DRAIN) = range(11)


def vq_header(layout, size, desc=0x0, avail=0x4000, used=0x5000):
    return struct.pack('<BHIII', layout, size, desc, avail, used)


def vq_desc(i, addr, length, flags, nxt=0):
    return struct.pack('<BHIIHH', Q_DESC, i, addr, length, flags, nxt)


def vq_avail(head):
    return struct.pack('<BH', Q_AVAIL, head)


def virtqueue_seeds():
    direct = (vq_desc(0, 0x8000, 16, F_NEXT, 1) + vq_desc(1, 0x8100, 512, F_NEXT | F_WRITE, 2)
              + vq_desc(2, 0x8400, 1, F_WRITE))
    table = (struct.pack('<QIHH', 0x8000, 16, F_NEXT, 1)
             + struct.pack('<QIHH', 0x8100, 512, F_WRITE, 0))
    return {
        'direct-chain': vq_header(1, 16) + direct + vq_avail(0) + bytes([Q_POP])
        + struct.pack('<BII', Q_READ, 0, 16) + struct.pack('<BII', Q_WRITE, 4, 600)
        + struct.pack('<BBI', Q_PUSH, 0, 513) + bytes([Q_NOTIFY]),
        'indirect-event-idx': vq_header(1 | 4 | 8, 16) + struct.pack('<BHB', Q_MEM, 0x9000, 32)
        + table + vq_desc(0, 0x9000, 32, F_INDIRECT) + vq_avail(0) + vq_avail(0)
        + bytes([Q_DRAIN]) + struct.pack('<BB', Q_SUPPRESS, 0) + bytes([Q_POP, Q_NOTIFY]),
        'wrap-high-ram': vq_header(3, 256, 0x1000, 0x3000, 0x4000)
        + vq_desc(0, 0xfff0, 16, 0) + vq_avail(0) + bytes([Q_POP])
        + struct.pack('<BBI', Q_PUSH, 0, 0) + bytes([Q_RESET, Q_POP]),
        'many-kicks': vq_header(1, 4) + vq_desc(0, 0x8000, 8, F_WRITE) + vq_avail(0) * 4
        + bytes([Q_DRAIN, Q_DRAIN]) + vq_avail(0) + bytes([Q_POP, Q_POP]),
    }


# ---- fuzz_virtio_gpu.c ----
(G_CONTROL, G_CONTROL2, G_CURSOR, G_FILL, G_HOST, G_CONFIG, G_RESET, G_RAW) = range(8)
(K_DISPLAY, K_EDID, K_CREATE, K_UNREF, K_SCANOUT, K_FLUSH, K_TRANSFER, K_ATTACH, K_DETACH,
 K_CTX_CREATE, K_BLOB, K_CURSOR, K_RAW) = (0, 1, 2, 4, 5, 6, 7, 9, 11, 12, 13, 14, 15)
FENCE, RING_IDX = 1 << 4, 2 << 4
SPLIT, ODD = 2 << 6, 3 << 6
# take_dim(): below 0x80, 1 + the byte; else dims[byte % 16]
D16, D64, D100, D256, D1024, D16384, D16385, D0 = 0x80, 0x82, 0x83, 0x84, 0x86, 0x8a, 0x8b, 0x8c
ID1, ID2, ID3, ID4, ID0 = 0, 1, 2, 3, 0xf0


def ctrl(kind, body=b'', flags=0):
    return bytes([G_CONTROL, kind | flags]) + body


def full_rect():
    return b'\x00'


def create(rid, w, h, fmt=1):
    return ctrl(K_CREATE, bytes([fmt, rid, w, h]))


def attach_cover(rid, at=0):
    return ctrl(K_ATTACH, bytes([rid, 0]) + struct.pack('<H', at) + b'\x00')


def attach_scattered(rid, n, gaps, at=0x100):
    return ctrl(K_ATTACH, bytes([rid, 1 | (n - 1) << 2]) + struct.pack('<H', at) + bytes(gaps))


def transfer(rid, rect=b'\x00', offset=b'\x00'):
    return ctrl(K_TRANSFER, bytes([rid]) + rect + offset)


def fill(page, pages, seed):
    return struct.pack('<BHBB', G_FILL, page, pages - 1, seed)


def cursor(how, rid, x, y):
    return struct.pack('<BBBBHHBB', G_CURSOR, how, 0, rid, x, y, 3, 4)


def gpu_seeds():
    boot = (bytes([7]) + ctrl(K_DISPLAY, flags=FENCE) + ctrl(K_EDID, b'\x00')
            + create(ID1, D64, D64) + attach_cover(ID1) + fill(0, 4, 9) + transfer(ID1)
            + ctrl(K_SCANOUT, bytes([0, ID1]) + full_rect(), FENCE | RING_IDX)
            + ctrl(K_FLUSH, bytes([ID1]) + full_rect(), FENCE)
            + create(ID2, D64, D64, 0) + cursor(0, ID2, 100, 200) + cursor(1, ID2, 300, 10)
            + bytes([G_HOST, 1, G_HOST, 2, G_HOST, 3]) + ctrl(K_UNREF, bytes([ID1])))
    scattered = (bytes([1]) + create(ID1, D100, 36) + attach_scattered(ID1, 4, [0, 9, 200, 1])
                 + fill(0, 16, 77) + transfer(ID1)
                 + transfer(ID1, b'\x01' + bytes([3, 5, 10, 7]))
                 + transfer(ID1, b'\x01' + bytes([20, 0, 4, 3]), b'\x02' + struct.pack('<I', 8))
                 + ctrl(K_DETACH, bytes([ID1])) + transfer(ID1))
    oom = (bytes([1]) + create(ID1, D1024, D1024) + create(ID2, D1024, D1024)
           + create(ID3, D16, D16) + ctrl(K_UNREF, bytes([ID1])) + create(ID3, D16, D16)
           + create(ID4, D16384, D16384) + create(ID1, D16385, 1) + create(ID1, D0, 1)
           + bytes([G_RESET, 1]) + create(ID1, D1024, D1024) + bytes([G_HOST, 2]))
    shapes = (bytes([1]) + create(ID1, D16, D16)
              + ctrl(K_CREATE, bytes([1, ID2, D16, D16, 1]) + struct.pack('<H', 1100), ODD)
              + ctrl(K_EDID, b'\x00' + b'\x05', SPLIT)
              + ctrl(K_DISPLAY, struct.pack('<BH', 0, 100), ODD)
              + ctrl(K_CTX_CREATE, b'\x08' + bytes(8)) + ctrl(K_BLOB, b'\x00')
              + ctrl(K_RAW, struct.pack('<I', 0x0207) + b'\x00')
              + struct.pack('<BB', G_RAW, 4) + struct.pack('<IH', 0x0100, 24)
              + struct.pack('<BBBBI', G_CONFIG, 0, 2, 0, 0) + struct.pack('<BBI', G_HOST, 0x00, 0)
              + bytes([G_HOST, 0, D1024, 0x7f]) + struct.pack('<BBBBI', G_CONFIG, 4, 2, 1, 1)
              + ctrl(K_DISPLAY, struct.pack('<BH', 0, 10), ODD) + create(ID1, D16, D16))
    anywhere = (bytes([3]) + create(ID1, D256, 16)
                + ctrl(K_ATTACH, bytes([ID1, 2 | 2 << 2]) + struct.pack('<BHBH', 0, 0, 1, 100)
                       + struct.pack('<BQB', 3, 0x3fffffffffff0000, 0)) + transfer(ID1)
                + ctrl(K_ATTACH, bytes([ID1, 2 | 2 << 2]) + struct.pack('<BHB', 0, 0, 0)
                       + struct.pack('<BHB', 0, 16, 0))
                + ctrl(K_ATTACH, bytes([ID1, 3 | 1 << 2]) + struct.pack('<BHBI', 1, 4, 0, 0x10000))
                + attach_cover(ID1, 0x1000) + attach_cover(ID1)
                + ctrl(K_SCANOUT, bytes([0xf5, ID1]) + full_rect())
                + ctrl(K_SCANOUT, bytes([0, ID1, 3]) + struct.pack('<4I', 0, 0, 0xffffffff, 2))
                + cursor(0, ID3, 1, 1) + cursor(8 | 4, ID1, 1, 1) + b'\x20\x40')
    return {
        'linux-boot': boot,
        'scattered-sub-rect': scattered,
        'out-of-memory': oom,
        'odd-chains': shapes,
        'backing-anywhere': anywhere,
    }


# ---- fuzz_virtio_console.c (virtio_driver.h) ----
MULTIPORT = 1 << 1
CTRL_RX, CTRL_TX, PORT_RX, PORT_TX = 2, 3, 4, 5
DEVICE_READY, PORT_ADD, PORT_READY, CONSOLE_PORT, PORT_OPEN = 0, 1, 3, 4, 6
BAD_ID = 0xffffffff


def console_ctrl(i, port, event, value, at=0x7000, length=8):
    """Control message number i on the control transmitq, from the driver."""
    addr = at + 0x10 * i
    return (mem(addr, struct.pack('<IHH', port, event, value)) + chain(CTRL_TX, i, [(addr, length, 0)])
            + avail(CTRL_TX, i) + notify(CTRL_TX))


def console_rx(q, first, n, at, size=0x100):
    ops = b''
    for i in range(n):
        ops += chain(q, first + i, [(at + size * i, size, F_WRITE)]) + avail(q, first + i)
    return ops + notify(q)


def console_probe():
    """virtcons_probe() and add_port() of Linux 6.1, as console.c's comment tells them."""
    return (start(MULTIPORT, 6) + console_rx(CTRL_RX, 0, 4, 0x8000)
            + console_ctrl(0, BAD_ID, DEVICE_READY, 1) + console_rx(PORT_RX, 0, 4, 0x9000)
            + console_ctrl(1, 1, PORT_READY, 1))


def console_seeds():
    ping = b'{"execute":"guest-ping"}\n'
    host_send = struct.pack('<BI', HOST, 100 << 2)
    return {
        'handshake': console_probe() + bytes([ACK, PEEK]),
        'open-write-send': console_probe() + console_ctrl(2, 1, PORT_OPEN, 1)
        + mem(0x7100, ping) + chain(PORT_TX, 0, [(0x7100, 10, 0), (0x710a, len(ping) - 10, 0)])
        + avail(PORT_TX, 0) + notify(PORT_TX) + host_send + struct.pack('<BI', HOST, 1)
        + struct.pack('<BI', HOST, 2) + bytes([PEEK]),
        'close-reset': console_probe() + console_ctrl(2, 1, PORT_OPEN, 1) + host_send
        + console_ctrl(3, 1, PORT_OPEN, 0) + console_ctrl(4, 1, PORT_OPEN, 1)
        + struct.pack('<BHI', WRITE, 0x070, 0)
        + b''.join(mem(0x1000 * q + 0x400, bytes(4)) for q in range(6)) + console_probe(),
        'hostile-control': console_probe() + console_ctrl(2, 1, PORT_OPEN, 1, length=7)
        + console_ctrl(3, 2, PORT_OPEN, 1) + console_ctrl(4, 1, CONSOLE_PORT, 1)
        + console_ctrl(5, 1, PORT_OPEN, 2) + console_ctrl(6, 0, PORT_READY, 1)
        + b''.join(console_ctrl(7 + i, BAD_ID, DEVICE_READY, 1) for i in range(8)),
        'wrong-side': console_probe() + console_ctrl(2, 1, PORT_OPEN, 1)
        + chain(PORT_RX, 4, [(0xa000, 0x40, 0)]) + avail(PORT_RX, 4) + notify(PORT_RX)
        + struct.pack('<BI', HOST, 4000 << 2),
        'config': struct.pack('<BHB', READ, 0x104, 2) + start(MULTIPORT, 6)
        + struct.pack('<BHBQ', WRITE_N, 0x108, 2, 0x41) + struct.pack('<BHB', READ, 0x100, 3),
    }


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    write('virtio_blk', blk_seeds())
    write('virtio_rng', rng_seeds())
    write('virtio_balloon', balloon_seeds())
    write('virtqueue', virtqueue_seeds())
    write('virtio_gpu', gpu_seeds())
    write('virtio_console', console_seeds())
