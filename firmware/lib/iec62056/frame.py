"""IEC 62056-21 frames: control characters, the block check character (BCC) and the
few frames the meter sends. The BCC is the XOR of every character after the first
SOH (or STX when there is none) up to and including ETX or EOT, on 7 bits."""
SOH = 0x01
STX = 0x02
ETX = 0x03
EOT = 0x04
ACK = 0x06
NAK = 0x15
CR = 0x0D
LF = 0x0A
CRLF = b"\r\n"

# Z, the baud rate character of modes C and E, is the index in this tuple
BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200)


def bcc(data, acc=0):
    """XOR of the bytes of ``data`` into ``acc``, on 7 bits."""
    for b in data:
        acc ^= b
    return acc & 0x7F


def data_frame(body):
    """STX body ETX BCC: an answer to R1, or an error message."""
    return b"\x02" + body + b"\x03" + bytes((bcc(body, ETX),))


def command_frame(command, body=None):
    """SOH command [STX body] ETX BCC, e.g. the meter's password request P0."""
    head = b"\x01" + command
    if body is not None:
        head += b"\x02" + body
    return head + b"\x03" + bytes((bcc(head[1:], ETX),))


def wire_ms(nbytes, baud):
    """Milliseconds ``nbytes`` take on the wire at 10 bits a character (7E1), rounded up."""
    return (nbytes * 10000 + baud - 1) // baud


def clean_text(text, limit=64):
    """Text fit for a data set's value: no ( ) / ! * or control characters, at most
    ``limit`` characters (an error message names a field; it never echoes a secret)."""
    out = []
    for ch in text[:limit]:
        out.append(" " if ch in "()/!*" or ord(ch) < 32 or ord(ch) > 126 else ch)
    return "".join(out)
