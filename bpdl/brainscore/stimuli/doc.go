// Package stimuli turns stimulus images into model inputs the way the study's scoring pipeline did.
//
// For the public Brain-Score benchmarks that pipeline was model-tools' PytorchWrapper with
// load_preprocess_images(image_size=32) inside a ModelCommitment with an 8-degree field of view:
//
//  1. Brain-Score's place_on_screen: a stimulus shown at other than 8 degrees is enlarged onto a gray
//     (128, 128, 128) canvas of size round(size·8/degrees), centred, or centre-cropped when it was
//     shown larger (PlaceOnScreen);
//  2. model-tools' load_image: PIL opens the file; images whose mode names luminance, alpha or a palette
//     (L, LA, RGBA, P, ...) are pasted onto a new RGB image, which replicates luminance and drops alpha
//     without blending (FromImage);
//  3. torchvision's Resize((32, 32)) on the PIL image: PIL's bilinear resampling, which widens the
//     triangle filter by the downscale factor (antialiasing) and resamples horizontally and then
//     vertically, rounding to 8 bits between the passes (Resize);
//  4. ToTensor (b/255 in float32) and Normalize with ImageNet's mean (0.485, 0.456, 0.406) and standard
//     deviation (0.229, 0.224, 0.225), channel planes R, G, B.
//
// For the project's offline benchmarks (rsa92, cowley-v4) the input is prepared like the training data
// instead: resized to the model's input size and scaled to x/255·2−1 (torchvision's Normalize(0.5, 0.5),
// as package data does), as RGB planes, or, for one-channel models (MNIST, Fashion-MNIST), as the ITU-R
// 601-2 luma that PIL's convert("L") computes, L = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16.
//
// A Preprocessing value names one such recipe; each benchmark chooses its own.
package stimuli
