"""``python -m step.train._torchrun NPROC ARGV_JSON``: torchrun for ``step train --nproc N``.

Why not ``torchrun ... -m step train ARGS`` on a command line: torchrun's argparse reads every
``--option`` after the script too and rejects ours that abbreviate its own (``--log`` could be
its ``--log-dir`` or ``--logs-specs``). Here torchrun's own parser reads only torchrun's
options, and the training arguments are handed over untouched (``training_script_args``). A
failed rank has printed its one line already: the exit code is its, without torchrun's report.
"""

from __future__ import annotations

import json
import sys


def main(nproc: int, argv: list[str]) -> int:
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    for name in list(logging.root.manager.loggerDict):  # its failure report: ours is one line
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    args = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m",
                                         "step"])
    args.training_script_args = argv
    try:
        run(args)
    except ChildFailedError as err:
        rank, failure = min(err.failures.items())
        if failure.exitcode in (1, 2):  # a failed check or bad input: rank 0 said why
            return failure.exitcode
        how = (f"signal {failure.signal_name()}" if failure.exitcode < 0
               else f"exit code {failure.exitcode}")
        sys.stderr.write(f"step train: error: process {rank} of {nproc} ended with {how}; "
                         "its output is above\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), json.loads(sys.argv[2])))
