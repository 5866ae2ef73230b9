"""The one place that names the built-in search spaces: importing a space's module registers it."""
import darts.spaces.darts_cnn.space  # noqa: F401
import darts.spaces.darts_rnn.space  # noqa: F401
import darts.spaces.nb201.space  # noqa: F401
import darts.spaces.nasrl_cnn.space  # noqa: F401
import darts.spaces.nasrl_rnn.space  # noqa: F401
import darts.spaces.nasnet.space  # noqa: F401
import darts.spaces.nb101.space  # noqa: F401
import darts.spaces.nats_sss.space  # noqa: F401
