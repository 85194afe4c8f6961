"""The papers' classifiers, their trainer, and model introspection."""
from .classifiers import ARCHITECTURES, build, cifar_cnn, gap_cnn, mnist_cnn, mobilenet_classifier
from .introspect import logits_function, weights_fingerprint
from .training import TrainedClassifier, load_model, save_model, train_classifier

__all__ = ["ARCHITECTURES", "build", "cifar_cnn", "gap_cnn", "mnist_cnn", "mobilenet_classifier", "train_classifier",
           "TrainedClassifier", "load_model", "save_model", "logits_function", "weights_fingerprint"]
