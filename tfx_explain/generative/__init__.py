"""The generative models and what they share.

- ``layers``: registered Keras layers (instance norm, ...), so saved generators load with safe_mode.
- ``losses``: pure loss functions, one per paper equation, returning per-example values.
- ``training``: ``AdversarialModel`` (a ``keras.Model`` with two optimizers and loss trackers) and
  ``train_loop`` (fit with step-indexed data, checkpoints with resume, TensorBoard, sample grids).
- ``saving``: generators saved as ``.keras`` plus JSON metadata with the classifier's fingerprint.
- ``stargan``: the GANMEX StarGAN.
"""
