"""One run of a command line: device (and torchrun's process group), threads, console log, the run folder
opened only after every input was checked, args.json with the settings that apply, then the work."""
from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger("darts")


def open_run_dir(settings: dict):
    """The run folder: resumed, overwritten, or new (refused when it already holds a run)."""
    from darts.runs import RunDir
    resume = bool(settings.get("resume"))
    return RunDir(settings["save"], resume=resume, overwrite=bool(settings.get("overwrite")))


def work_per_step(prepared, settings: dict) -> float:
    """Forward multiply-adds of one batch of the network a run trains (0: none to count, e.g. a table search),
    which --threads auto uses to choose one thread for tiny, overhead-bound networks."""
    from darts.summary import batch_work
    model, shape = getattr(prepared, "model", None), getattr(getattr(prepared, "data", None), "shape", None)
    if model is None or shape is None or shape.ntokens:
        return 0.0
    return batch_work(model, shape.in_channels, shape.height, shape.width, settings.get("batch_size", 1))


def run_command(settings: dict, not_saved: set, prepare: Callable, body: Callable):
    """`prepare(device)` (reads and checks every input, writes nothing), then `body(prepared, run, device)`
    inside the run folder; args.json gets the settings except `not_saved`."""
    from darts.checkpoint import seed_everything
    from darts.distributed import destroy_process_group, init_from_env, world_size
    from darts.runs import EarlyLog, setup_console_logging
    from darts.threads import apply_threads, choose_threads
    device = init_from_env(settings["device"])  # under torchrun: joins the process group, cuda:LOCAL_RANK
    try:
        setup_console_logging()
        seed_everything(settings["seed"])  # before anything random is built (the supernet)
        early = EarlyLog()  # the preparation's log lines, for log.txt once the folder exists
        try:
            prepared = prepare(device)
        except BaseException:
            early.close()
            raise
        apply_threads(choose_threads(settings.get("threads", "auto"), work_per_step(prepared, settings)))
        run = open_run_dir(settings)
        try:
            saved = {k: v for k, v in settings.items() if k not in not_saved}
            run.write_args(saved, bool(settings.get("resume")))
            log.info("args = %s", saved)
            if world_size() > 1:
                log.info("world size %d: --batch_size %d per process, %d in all", world_size(),
                         settings["batch_size"], settings["batch_size"] * world_size())
            return body(prepared, run, device)
        finally:
            run.close()
    finally:
        destroy_process_group()
