"""The language-model task lives with the text modality: darts.language_task."""
from darts.language_task import LanguageModel, LMOutput  # noqa: F401
