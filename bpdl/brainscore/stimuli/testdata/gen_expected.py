#!/usr/bin/python3
"""Writes the expected model inputs for the stimuli package's tests, computed with PIL and torch the way
Brain-Score (place_on_screen), model-tools (load_image, load_preprocess_images) and torchvision
(Resize, ToTensor, Normalize) compute them.

Run with Debian's python3 (python3-pil, python3-numpy, python3-torch) from this directory:

    /usr/bin/python3 gen_expected.py ../../../../../shared/data

It writes the small input images it makes itself (gray.png, rgba.png, palette.png, small.png) and, for
every case of CASES, <case>.npy: the expected input as float32 (channels x height x width planes) or, for
resize-only cases, uint8 (height x width x channels as PIL stores it). Images from the shared data are read
in place and not copied. torchvision is not needed: its Resize on a PIL image is PIL's
Image.resize(size, BILINEAR), ToTensor is float(b)/255 in float32 and Normalize is (x - mean) / std in
float32, which torch computes below exactly as torchvision does.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(path):
    """model-tools' load_image."""
    with Image.open(path) as pil_image:
        mode = pil_image.mode.upper()
        if 'L' not in mode and 'A' not in mode and 'P' not in mode:
            return pil_image.copy()
        rgb_image = Image.new("RGB", pil_image.size)
        rgb_image.paste(pil_image)
        return rgb_image


def place_on_screen(image, source_degrees, target_degrees):
    """Brain-Score's ImageConverter.convert_image (apply_ratio, _enlarge, _center_crop)."""
    if source_degrees == target_degrees:
        return image
    ratio = target_degrees / source_degrees
    image_size = np.array(image.size)
    target_size = (ratio * image_size).round().astype(int)
    if ratio >= 1:
        background = Image.new('RGB', tuple(target_size), 'gray')
        topleft = ((target_size - image.size) / 2).round().astype(int)
        background.paste(image, tuple(topleft))
        return background
    left, upper = ((image.size - target_size) / 2).round().astype(int)
    right, lower = [left, upper] + target_size
    return image.crop((left, upper, right, lower))


def to_tensor_normalize(image, mean, std):
    """torchvision's ToTensor then Normalize, for an RGB or L PIL image."""
    a = np.array(image, dtype=np.uint8, copy=True)
    if a.ndim == 2:
        a = a[:, :, None]
    t = torch.from_numpy(a).permute(2, 0, 1).contiguous().float().div(255)
    m = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
    return t.sub_(m).div_(s).numpy()


def model_tools(path, size, degrees):
    image = place_on_screen(load_image(path), degrees, 8)
    # place_on_screen writes the placed image to a PNG file and model-tools loads it again
    image = load_image_from(image)
    image = image.resize((size, size), Image.BILINEAR)
    return to_tensor_normalize(image, IMAGENET_MEAN, IMAGENET_STD)


def load_image_from(image):
    if image.mode == "RGB":
        return image
    rgb = Image.new("RGB", image.size)
    rgb.paste(image)
    return rgb


def study(path, channels, size):
    image = load_image(path)
    if channels == 1:
        image = image.convert("L")
    image = image.resize((size, size), Image.BILINEAR)
    return to_tensor_normalize(image, (0.5,) * channels, (0.5,) * channels)


def resize_only(path, w, h, resample):
    return np.array(load_image(path).resize((w, h), resample), dtype=np.uint8)


def make_inputs():
    rng = np.random.RandomState(7)
    Image.fromarray(rng.randint(0, 256, size=(23, 37), dtype=np.uint8), mode="L").save("gray.png")
    rgba = rng.randint(0, 256, size=(30, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, mode="RGBA").save("rgba.png")
    pal = Image.fromarray(rng.randint(0, 256, size=(33, 33, 3), dtype=np.uint8), mode="RGB").quantize(colors=16)
    pal.save("palette.png")
    Image.fromarray(rng.randint(0, 256, size=(20, 20, 3), dtype=np.uint8), mode="RGB").save("small.png")


def main(shared):
    make_inputs()
    rsa = lambda n: os.path.join(shared, "rsa92", "stimuli", "%02d.png" % n)
    cases = {
        "rsa01_modeltools32": lambda: model_tools(rsa(1), 32, 8),
        "rsa02_modeltools32_4deg": lambda: model_tools(rsa(2), 32, 4),
        "rsa03_modeltools32_10deg": lambda: model_tools(rsa(3), 32, 10),
        "rsa04_modeltools32_6deg": lambda: model_tools(rsa(4), 32, 6),
        "gray_modeltools32": lambda: model_tools("gray.png", 32, 8),
        "rgba_modeltools32": lambda: model_tools("rgba.png", 32, 8),
        "palette_modeltools32": lambda: model_tools("palette.png", 32, 8),
        "small_modeltools32": lambda: model_tools("small.png", 32, 8),
        "rsa01_study1x28": lambda: study(rsa(1), 1, 28),
        "rsa05_study3x32": lambda: study(rsa(5), 3, 32),
        "rsa06_bicubic45x45": lambda: resize_only(rsa(6), 45, 45, Image.BICUBIC),
        "rsa07_bilinear31x17": lambda: resize_only(rsa(7), 31, 17, Image.BILINEAR),
        "small_bicubic64x48": lambda: resize_only("small.png", 64, 48, Image.BICUBIC),
    }
    for name, fn in cases.items():
        a = fn()
        np.save(name + ".npy", a)
        print(name, a.dtype, a.shape)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
