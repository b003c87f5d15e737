"""Make the converter-written fixtures beside this file: a small Keras ViT and a small Keras CNN,
trained for a few epochs on scikit-learn's digits (8 x 8) and converted by TensorFlow's TFLite
converter to full-integer int8 (int8 input and output, a representative dataset of 200 training
images). They are what a user's own model looks like to `mcusim import`: the converter's op choices
(shape arithmetic around 3-D Dense layers with Keras' dynamic batch, LayerNormalization decomposed
into MEAN / SQUARED_DIFFERENCE / RSQRT / SUB / MUL / ADD, MultiHeadAttention as 4-D BATCH_MATMULs,
GELU, per-channel conv weights), not ours.

TensorFlow is not a dependency of mcusim; the files are committed, and this script is how they were
made (TensorFlow 2.21.0, Keras 3.15.1, CPU):

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 scikit-learn
    /tmp/tfenv/bin/python tests/models/converted/make_fixtures.py

Training is seeded but TensorFlow's CPU kernels are not bit-reproducible across machines: a rerun
gives equivalent, not identical, files.
"""
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent


def digits():
    """Images (N, 8, 8, 1) scaled to [0, 1] and labels, the first 1,500 for training."""
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    return x[:1500], data.target[:1500], x[1500:], data.target[1500:]


class PositionEmbedding(layers.Layer):
    """A learned (tokens, dim) table added to every sample: the converter's broadcasting ADD."""

    def build(self, shape):
        self.table = self.add_weight(shape=shape[1:], initializer="random_normal", name="table")

    def call(self, x):
        return x + self.table


def vit(batch_size=None) -> keras.Model:
    """Patches of 2 x 2 -> 16 tokens of 32; two pre-norm encoder blocks (2 heads of 16, MLP 64 with
    GELU); mean of the tokens; 10 classes."""
    x = inputs = keras.Input((8, 8, 1), batch_size=batch_size)
    x = layers.Conv2D(32, 2, strides=2)(x)
    x = layers.Reshape((16, 32))(x)
    x = PositionEmbedding()(x)
    for _ in range(2):
        y = layers.LayerNormalization(epsilon=1e-6)(x)
        y = layers.MultiHeadAttention(num_heads=2, key_dim=16)(y, y)
        x = layers.Add()([x, y])
        y = layers.LayerNormalization(epsilon=1e-6)(x)
        y = layers.Dense(64, activation="gelu")(y)
        y = layers.Dense(32)(y)
        x = layers.Add()([x, y])
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def cnn(batch_size=None) -> keras.Model:
    """Conv 3x3 (16, ReLU), depthwise 3x3 + pointwise (32, ReLU6), max pool, dense 10."""
    x = inputs = keras.Input((8, 8, 1), batch_size=batch_size)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same")(x)
    x = layers.Conv2D(32, 1, activation="relu6")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def convert(model: keras.Model, x_train: np.ndarray) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in x_train[:200])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def main():
    keras.utils.set_random_seed(0)
    x_train, y_train, x_test, y_test = digits()
    for name, build, epochs in (("keras_vit", vit, 30), ("keras_cnn", cnn, 15)):
        model = build()
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
        accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        # the default (dynamic batch) model and one fixed at batch 1: converters write both
        for suffix, batch in (("", None), ("_batch1", 1)):
            fixed = build(batch)
            fixed.set_weights(model.get_weights())
            (HERE / f"{name}{suffix}.tflite").write_bytes(convert(fixed, x_train))
        print(f"{name}: float test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
