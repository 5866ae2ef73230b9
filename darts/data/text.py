"""Text corpora in the usual language-modelling layout, and windows of tokens for truncated BPTT.

A corpus folder holds train.txt, valid.txt and test.txt (Penn Treebank, WikiText-2, ...): one sentence a
line, tokens separated by whitespace, `<eos>` appended at each line end. The vocabulary comes from
train.txt alone, in order of first occurrence (the ids the original code gives PTB); a valid/test token
outside it is an error, since these corpora map rare words to `<unk>` in every split beforehand.

A `TextStream` cuts a batchified token matrix (rows = time, columns = independent streams) into windows.
Training windows vary in length as in the original code: `bptt`, or `bptt / 2` with probability 0.05,
optionally jittered by a normal draw (final training); each batch carries `lr_scale = length / bptt`, by
which the caller scales the learning rate for that step. Draws come from the stream's own generator.

Carried hidden state. The recurrent state at the end of one window starts the next window of the same
stream. A batch holds `hidden_in` (fixed when the batch is drawn) and every forward pass over it stores
its final state in `batch.hidden_out`; the stream hands the *last* pass's state to the next batch. So all
passes over a batch start from the same state, and in a DARTS step the last pass over a training batch
is the weight step (the architect's passes at w, w+ and w- come first and are overwritten), while the
only pass over a validation batch is the architect's (at w first order, at w' second order): the same
states the original code carries. `state_dict()` includes the carried state, so resume is exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch

from darts.errors import UserError

EOS = "<eos>"
SPLITS = ("train", "valid", "test")
# Vocabulary sizes of the standard corpora (train.txt plus <eos>), for size summaries without data.
KNOWN_VOCAB_SIZES = {"ptb": 10000, "wikitext2": 33278}
DEFAULT_FOLDERS = {"ptb": "data/ptb", "wikitext2": "data/wikitext-2"}


@dataclass
class TextCorpus:
    vocab: list[str]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    path: Path | None = None

    @property
    def ntokens(self) -> int:
        return len(self.vocab)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise UserError(f"{path} not found: a text corpus folder needs train.txt, valid.txt and test.txt "
                        f"(Penn Treebank layout)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start}); convert it to UTF-8") from None
    if not text.strip():
        raise UserError(f"{path} is empty; a corpus split needs at least one line of tokens")
    return text.splitlines()


def read_corpus(folder: str | Path) -> TextCorpus:
    """Read train/valid/test of a corpus folder into id tensors (vocabulary from train.txt)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"corpus folder {folder} does not exist; give --data a folder with train.txt, "
                        f"valid.txt and test.txt (Penn Treebank layout)")
    word2idx: dict[str, int] = {}
    ids = []
    for line in _read_lines(folder / "train.txt"):
        for word in line.split() + [EOS]:
            ids.append(word2idx.setdefault(word, len(word2idx)))
    splits = {"train": torch.tensor(ids, dtype=torch.long)}
    for split in ("valid", "test"):
        path = folder / f"{split}.txt"
        ids = []
        for n, line in enumerate(_read_lines(path), 1):
            for word in line.split() + [EOS]:
                i = word2idx.get(word)
                if i is None:
                    raise UserError(f"{path} line {n}: token {word!r} does not occur in train.txt; map rare "
                                    f"words to <unk> in every split (as PTB and WikiText-2 do)")
                ids.append(i)
        splits[split] = torch.tensor(ids, dtype=torch.long)
    return TextCorpus(list(word2idx), splits["train"], splits["valid"], splits["test"], folder)


def check_split_length(tokens: torch.Tensor, batch_size: int, name: str) -> None:
    """Refuse a split too short for `batch_size` columns of at least three rows (a window needs two steps and
    its targets), before a run that would read it in those columns writes anything."""
    if tokens.numel() // batch_size < 3:
        raise UserError(f"the {name} split has {tokens.numel()} tokens: too few for batch size {batch_size} "
                        f"(at least {3 * batch_size} needed); use a smaller batch size or a longer corpus")


def batchify(tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(n,) ids -> (n // batch_size, batch_size): column b is the b-th contiguous slice of the text."""
    rows = tokens.numel() // batch_size
    return tokens[: rows * batch_size].view(batch_size, rows).t().contiguous()


@dataclass
class TextBatch:
    """One window: inputs `data` (T, B) and next-token `targets` (T, B), with the carried state."""
    data: torch.Tensor
    targets: torch.Tensor
    hidden_in: torch.Tensor | None  # None: start from zeros
    lr_scale: float = 1.0
    hidden_out: torch.Tensor | None = field(default=None, repr=False)

    @property
    def seq_len(self) -> int:
        return self.data.shape[0]


class TextStream:
    def __init__(self, tokens: torch.Tensor, batch_size: int, bptt: int, device: torch.device | str = "cpu",
                 variable_length: bool = False, length_std: float = 0.0, max_seq_len_delta: int = 20,
                 seed: int = 0, name: str = "split"):
        """`variable_length`: windows of bptt or bptt/2 (p=0.05); `length_std` > 0 adds the final training's
        normal jitter (lengths at least 5, at most bptt + max_seq_len_delta)."""
        if batch_size < 1 or bptt < 1:
            raise UserError(f"batch size and bptt must be at least 1, got {batch_size} and {bptt}")
        self.device = torch.device(device)
        check_split_length(tokens, batch_size, name)
        self.data = batchify(tokens, batch_size).to(self.device)
        self.batch_size, self.bptt = batch_size, bptt
        self.variable_length, self.length_std = variable_length, length_std
        self.max_seq_len_delta = max_seq_len_delta
        self.generator = torch.Generator().manual_seed(seed)
        self._plan: list[int] = []       # window lengths of the current pass
        self._next_plan: list[int] | None = None  # drawn ahead when batches_per_epoch asks for the count
        self._index = 0                  # windows of the current pass already drawn
        self._pos = 0                    # first row of the next window
        self._hidden: torch.Tensor | None = None
        self._last: TextBatch | None = None

    # -- window lengths --------------------------------------------------------------------------------
    def _draw_length(self) -> int:
        if not self.variable_length:
            return self.bptt
        base = self.bptt if float(torch.rand((), generator=self.generator)) < 0.95 else self.bptt / 2
        if self.length_std > 0:
            length = max(5, int(base + self.length_std * float(torch.randn((), generator=self.generator))))
            return min(length, self.bptt + self.max_seq_len_delta)
        return max(1, int(base))

    def _draw_plan(self) -> list[int]:
        rows, lengths, i = self.data.shape[0], [], 0
        while i < rows - 2:  # as the original: every window has at least two steps
            n = min(self._draw_length(), rows - 1 - i)
            lengths.append(n)
            i += n
        return lengths

    def _start_pass(self) -> None:
        self._plan = self._next_plan if self._next_plan is not None else self._draw_plan()
        self._next_plan = None
        self._index = self._pos = 0
        self._hidden = self._last = None

    # -- carried state ---------------------------------------------------------------------------------
    def _carried(self) -> torch.Tensor | None:
        if self._last is not None and self._last.hidden_out is not None:
            return self._last.hidden_out
        return self._hidden

    def _take(self, length: int) -> TextBatch:
        self._hidden = self._carried()
        i = self._pos
        batch = TextBatch(self.data[i:i + length], self.data[i + 1:i + 1 + length], self._hidden,
                          length / self.bptt)
        self._pos += length
        self._index += 1
        self._last = batch
        return batch

    # -- the interface DartsSearch and the training loops use --------------------------------------------
    def epoch(self, max_batches: int | None = None) -> Iterator[TextBatch]:
        """One pass from the start of the text with a zero state (at most `max_batches` windows)."""
        self._start_pass()
        count = 0
        while self._index < len(self._plan) and (max_batches is None or count < max_batches):
            count += 1
            yield self._take(self._plan[self._index])

    def next(self) -> TextBatch:
        """The next window of an endless stream; at the end of the text it starts over with a zero state."""
        if self._index >= len(self._plan):
            self._start_pass()
        return self._take(self._plan[self._index])

    def evaluation_batches(self, max_batches: int | None = None) -> Iterator[TextBatch]:
        """Windows of exactly bptt in order from a zero state, each carrying the previous one's final state;
        the stream's own position and state are not touched."""
        prev = None
        rows = self.data.shape[0]
        for k, i in enumerate(range(0, rows - 1, self.bptt)):
            if max_batches is not None and k >= max_batches:
                break
            n = min(self.bptt, rows - 1 - i)
            batch = TextBatch(self.data[i:i + n], self.data[i + 1:i + 1 + n],
                              prev.hidden_out if prev is not None else None, n / self.bptt)
            yield batch
            prev = batch

    def batches_per_epoch(self, max_batches: int | None = None) -> int:
        if self._next_plan is None:
            self._next_plan = self._draw_plan()
        n = len(self._next_plan)
        return n if max_batches is None else min(n, max_batches)

    def state_dict(self) -> dict:
        hidden = self._carried()
        return {"generator": self.generator.get_state(), "plan": list(self._plan), "next_plan": self._next_plan,
                "index": self._index, "pos": self._pos, "hidden": None if hidden is None else hidden.detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._plan, self._next_plan = list(state["plan"]), state["next_plan"]
        self._index, self._pos = state["index"], state["pos"]
        hidden = state["hidden"]
        self._hidden = None if hidden is None else hidden.to(self.device)
        self._last = None
