"""How NAS-Bench-201 trained the networks of its skeleton (NAS-Bench-201 paper, section 2.3), the retraining
recipe of the nb201 space; NATS-Bench's size space trains the same way for 90 epochs. No torch here: the spaces
read it when they register."""

RECIPE = {"epochs": 200, "batch_size": 256, "learning_rate": 0.1, "learning_rate_min": 0.0,
          "weight_decay": 5e-4, "nesterov": True, "grad_clip": 0.0, "drop_path_prob": 0.0,
          "auxiliary_weight": 0.0}  # Nesterov SGD, lr 0.1 cosine to 0, crop and flip, no cutout / drop path / aux head
