"""``prepay sim --blank`` / ``--console``: run a board with a console until stopped
(Ctrl-C or SIGTERM), printing the console's and the optical port's paths."""
import signal
import sys

from host.errors import UserError
from host.sim.console import DEFAULT_HEAP, ConsoleBoard, prepare_console_state

SCRIPT_FLAGS = ("config", "reprovision", "script", "cut_after_writes", "files", "json")


def run_console_board(args):
    for flag in SCRIPT_FLAGS:
        if getattr(args, flag) not in (None, False):
            raise UserError("--%s is for a scripted meter; a board with a console is "
                            "provisioned through it (prepay provision meter)"
                            % flag.replace("_", "-"))
    if args.runtime != "stock":
        raise UserError("a board with a console runs the stock runtime (its firmware is "
                        "what is installed on its flash), not %s" % args.runtime)
    prepare_console_state(args.state, args.blank)
    board = ConsoleBoard(args.state, heap=args.heap or DEFAULT_HEAP, console_link=args.console_port,
                         ir_link=args.ir_port)

    def stop(*_):
        board.stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("prepay sim: console %s, optical port %s"
          % (args.console_port or board.console.path, args.ir_port or board.ir.path),
          file=sys.stderr, flush=True)
    try:
        status = board.run()
    finally:
        board.close()
    if status:
        print("prepay sim: the board's process ended (exit %d); its console said what it "
              "could" % status, file=sys.stderr)
        return 1
    return 0
