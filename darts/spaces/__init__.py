"""Search spaces: one package per space (darts_cnn, darts_rnn, nb201, ...), none importing another; the
pieces several spaces share live in darts.spaces.common; the registry, relaxation and mixed op serve all."""
