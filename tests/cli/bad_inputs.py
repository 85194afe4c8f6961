"""The bad inputs, as data: one table for the CLI and one for the API (issue 14). Each row names its kind of
fault (1 traceback, 2 silently wrong, 3 half-written directory, 5 vocabulary). ``scripts/bad_input_table.py``
prints the table with the outcome of each row on a given checkout.

CLI rows: (kind, argv, expected) with ``{M}`` the tiny classifier, ``{D}`` a scratch directory holding the
broken files, ``{RO}`` a directory the test cannot write into; expected is an exit status (2 or 130) and, for
130, ``"resumes"`` or ``"starts over"``. API rows: (kind, call, kwargs, argument the error must name).
"""

CLI = [
    # --model: files that are not a usable classifier
    (1, "explain --model {D}/truncated.keras --dataset digits --limit 4 --out {D}/run", 2),
    (1, "explain --model {D}/corrupt.keras --dataset digits --limit 4 --out {D}/run", 2),
    (1, "explain --model {D}/text.keras --dataset digits --limit 4 --out {D}/run", 2),
    (1, "explain --model {D}/lambda.keras --dataset digits --limit 4 --out {D}/run", 2),
    (1, "explain --model {D} --dataset digits --limit 4 --out {D}/run", 2),
    (1, "explain --model {D}/missing.keras --dataset digits --limit 4 --out {D}/run", 2),
    (1, "train-ganmex --model {D}/truncated.keras --preset cpu --steps 1 --out {D}/g", 2),
    (1, "baselines --model {D}/lambda.keras --kind zero --out {D}/b", 2),
    (1, "evaluate --model {D}/text.keras --n 2 --out {D}/ev", 2),
    (1, "train-explaingan --model {D}/corrupt.keras --steps 1 --classes 1 2 --out {D}/e", 2),
    (5, "train-explaingan --steps 1 --classes 1 2 --out {D}/e", 2),  # no --model at all
    (5, "train-explaingan --classifier {D}/text.keras --steps 1 --classes 1 2 --out {D}/e", 2),  # old spelling
    # --set: malformed or mistyped
    (1, "explain --model {M} --dataset digits --limit 4 --set steps --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --set steps=abc --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --limit 4 --set steps=1.5 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --limit 4 --set steps=0 --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --set nosuch=3 --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --set =3 --out {D}/run", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --set seed=x --out {D}/g", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --set width=1.5 --out {D}/g", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --set nosuch=1 --out {D}/g", 2),
    (1, "train-exaggeration --model {M} --steps 1 --target-class 1 --set kappa --out {D}/e", 2),
    # counts: zero or negative
    (2, "explain --model {M} --dataset digits --limit -3 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --limit 0 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --image-size 0 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --batch-size 0 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --batch-size -5 --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --shard-size 0 --out {D}/run", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps 0 --out {D}/g", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps -2 --out {D}/g", 2),
    (2, "demo --steps 0 --out {D}/demo", 2),
    (3, "demo --steps -1 --out {D}/demo", 2),
    (2, "train-classifier --epochs 0 --out {D}/clf", 2),
    (2, "train-classifier --batch-size -1 --out {D}/clf", 2),
    (2, "train-classifier --image-size 0 --out {D}/clf", 2),
    (2, "baselines --model {M} --kind zero --limit -3 --out {D}/b", 2),
    (2, "evaluate --model {M} --n 0 --out {D}/ev", 2),
    (2, "evaluate --model {M} --n 2 --steps 0 --out {D}/ev", 2),
    (2, "train-explaingan --model {M} --steps 0 --classes 1 2 --out {D}/e", 2),
    (2, "train-exaggeration --model {M} --steps 1 --target-class 1 --bins 0 --out {D}/e", 2),
    # classes
    (1, "baselines --model {M} --kind zero --target-class foo --limit 5 --out {D}/b", 2),
    (1, "baselines --model {M} --kind mdts --target-class 12 --limit 5 --out {D}/b", 2),
    (2, "baselines --model {M} --kind zero --target-class 12 --limit 5 --out {D}/b", 2),
    (2, "baselines --model {M} --kind zero --target-class -1 --limit 5 --out {D}/b", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --target-class foo --out {D}/run", 2),
    (2, "explain --model {M} --dataset digits --limit 4 --target-class 12 --out {D}/run", 2),
    (1, "baselines --model {M} --kind ganmex --limit 5 --out {D}/b", 2),  # no --generator
    # datasets, methods, shapes
    (1, "explain --model {M} --dataset nope --limit 4 --out {D}/run", 2),
    (4, "explain --model {M} --dataset mnist --limit 4 --out {D}/run", 2),  # TFDS, not prepared, no network
    (4, "explain --model {M} --dataset mnist --data-dir {D}/nowhere --limit 4 --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --method nope --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --image-size 14 --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --split nope --limit 4 --out {D}/run", 2),
    (1, "baselines --model {M} --kind nope --limit 5 --out {D}/b", 2),
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --dataset colored_digits --out {D}/g", 2),  # 3 vs 1 channel
    (1, "explain --model {M} --dataset colored_digits --limit 2 --out {D}/run", 2),
    (1, "baselines --model {M} --kind zero --dataset colored_digits --limit 2 --out {D}/b", 2),
    (1, "train-classifier --dataset nope --epochs 1 --out {D}/clf", 2),
    (1, "train-classifier --model nope --epochs 1 --out {D}/clf", 2),
    # --out: read-only, a file, a directory that is not a run
    (1, "explain --model {M} --dataset digits --limit 4 --out {RO}/run", 2),
    (1, "train-classifier --epochs 1 --out {RO}/clf", 2),
    (1, "train-ganmex --model {M} --preset cpu --steps 1 --out {RO}/g", 2),
    (1, "baselines --model {M} --kind zero --limit 5 --out {RO}/b", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --out {M}", 2),
    (2, "explain --model {M} --dataset digits --limit 4 --out {D}", 2),  # holds other files: not a run
    # argparse-level mistakes: one line, no usage block
    (5, "explain --model {M}", 2),
    (5, "explain --model {M} --dataset digits --nosuch 1", 2),
    (5, "explain --model {M} --dataset digits --limit x", 2),
    (5, "nosuch-command", 2),
    # environment
    (0, "KERAS_BACKEND=jax explain --model {M} --dataset digits --limit 4 --out {D}/run", 2),
    (0, "KERAS_BACKEND=torch train-classifier --epochs 1 --out {D}/clf", 2),
    # more of the same kinds, kept back to check that each kind is fixed as a whole
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --dataset composite_digits --out {D}/g", 2),  # 3 vs 1
    (3, "train-ganmex --model {M} --preset cpu --steps 1 --dataset colored_nope --out {D}/g", 2),
    (1, "train-ganmex --model {M} --preset nope --steps 1 --out {D}/g", 2),
    (1, "baselines --model {D}/corrupt.keras --kind zero --limit 5 --out {D}/b", 2),
    (2, "baselines --model {M} --kind zero --limit 0 --out {D}/b", 2),
    (1, "baselines --model {M} --kind zero --split nope --limit 5 --out {D}/b", 2),
    (2, "evaluate --model {M} --n -1 --out {D}/ev", 2),
    (1, "evaluate --model {M} --n 2 --out {RO}/ev", 2),
    (2, "train-classifier --epochs -1 --out {D}/clf", 2),
    (1, "train-classifier --dataset colored_nope --epochs 1 --out {D}/clf", 2),
    (2, "train-exaggeration --model {M} --steps 0 --target-class 1 --out {D}/e", 2),
    (2, "explain --model {M} --dataset digits --limit 4 --set steps=-4 --out {D}/run", 2),
    (1, "explain --model {M} --dataset digits --limit 4 --method occlusion --set window=abc --out {D}/run", 2),
    (1, "explain --model {M} --dataset composite_nope --limit 2 --out {D}/run", 2),
    (4, "explain --model {M} --dataset digits --data-dir {D}/nowhere --limit 4 --out {D}/run", 2),
    (1, "demo --steps 1 --out {M}", 2),  # --out is a file
    # Ctrl-C
    ("interrupt", "explain --model {M} --dataset digits --set steps=400 --out {D}/run_i", 130, "resumes"),
    ("interrupt", "train-classifier --epochs 30 --out {D}/clf_i", 130, "starts over"),
]

API = [
    (1, "explain_keras", {"x": "empty"}, "x"),
    (1, "explain_keras", {"x": "empty", "original_class": []}, "x"),
    (2, "explain_keras", {"batch_size": 0}, "batch_size"),
    (2, "explain_keras", {"batch_size": -5}, "batch_size"),
    (2, "explain_keras", {"steps": 1.5}, "method_options"),
    (2, "explain_keras", {"steps": 0}, "method_options"),
    (1, "explain_keras", {"method": "occlusion", "window": "3"}, "method_options"),
    (1, "explain_keras", {"nosuch": 1}, "method_options"),
    (1, "explain_keras", {"method": "nope"}, "method"),
    (1, "explain_keras", {"x": "nan"}, "x"),
    (1, "explain_keras", {"x": "small"}, "x"),
    (1, "explain_keras", {"x": "rank2"}, "x"),
    (1, "explain_keras", {"target_class": 12}, "target_class"),
    (1, "explain_keras", {"target_class": -1}, "target_class"),
    (2, "explain_keras", {"original_class": 3, "target_class": 3}, "target_class"),
    (1, "explain_keras", {"original_class": [1, 2, 3]}, "original_class"),
    (1, "explain_keras", {"original_class": [[1] * 10, [1] + [0] * 9]}, "original_class"),  # not one-hot
    (1, "explain_keras", {"target_class": [[0.5] * 10, [0.5] * 10]}, "target_class"),  # soft labels
    (1, "explain_keras", {"x": "infinite"}, "x"),  # tf.data.Dataset.repeat()
    (1, "explain_keras", {"baseline": "nope"}, "baseline"),
    (1, "explain_keras", {"baseline_options": {"nope": 1}}, "baseline_options"),
    (1, "explain_keras", {"precision": "float8"}, "precision"),
    (1, "explain_keras", {"baseline": "mdts"}, "data"),  # mdts without data
    (3, "ganmex.train", {"steps": 0}, "steps"),
    (3, "ganmex.train", {"seed": "x"}, "config"),
    (3, "ganmex.train", {"width": 2.5}, "config"),
    (3, "ganmex.train", {"data": "small"}, "data"),
    (1, "train_classifier", {"out_dir": "a file"}, "out_dir"),
    (1, "Explanation.load", {"file": "other npz"}, "path"),
    (1, "Explanation.load", {"file": "garbage"}, "path"),
    (2, "explain_dataset", {"limit": -3}, "limit"),
    (2, "explain_dataset", {"image_size": 0}, "image_size"),
    (2, "explain_dataset", {"out_dir": "not_a_run"}, "out_dir"),
    # more of the same kinds, kept back to check that each kind is fixed as a whole
    (2, "explain_keras", {"batch_size": 1.5}, "batch_size"),
    (1, "explain_keras", {"target_class": "foo"}, "target_class"),
    (1, "explain_keras", {"x": "channels_first"}, "x"),
    (3, "ganmex.train", {"steps": -1}, "steps"),
    (3, "ganmex.train", {"data": "colored_digits"}, "data"),  # 3 vs 1 channel, refused before loading
    (3, "ganmex.train", {"data": "nope"}, "data"),
    (2, "explain_dataset", {"limit": 0}, "limit"),
    (2, "explain_dataset", {"image_size": -28}, "image_size"),
]
