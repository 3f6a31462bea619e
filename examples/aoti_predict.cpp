// Runs an AOTInductor package written by `edgeseg export --format pt2` from a C++ process, no
// Python: reads one normalised float32 NCHW frame (raw, batch 1), writes its uint8 class map (raw
// H x W, the argmax over classes), as `Segmenter.predict` does before resizing to the frame.
//
//   aoti_predict model.pt2 input.f32 HEIGHT WIDTH classes.u8
//
// Build against the torch wheel's headers and libraries (the command tests/export/test_pt2.py runs):
//   T=$(python -c "import torch, os; print(os.path.dirname(torch.__file__))")
//   g++ -std=c++20 -O2 examples/aoti_predict.cpp -I$T/include -I$T/include/torch/csrc/api/include \
//       -L$T/lib -Wl,-rpath,$T/lib -ltorch -ltorch_cpu -lc10 -o aoti_predict
#include <ATen/ATen.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: aoti_predict model.pt2 input.f32 HEIGHT WIDTH classes.u8\n";
    return 2;
  }
  const int64_t h = std::stoll(argv[3]), w = std::stoll(argv[4]);
  std::vector<float> frame(3 * h * w);
  std::ifstream in(argv[2], std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(frame.data()), frame.size() * sizeof(float))) {
    std::cerr << argv[2] << ": expected " << frame.size() * sizeof(float) << " bytes of float32 (1x3x" << h << "x" << w << ")\n";
    return 2;
  }
  torch::inductor::AOTIModelPackageLoader loader(argv[1]);
  at::Tensor x = at::from_blob(frame.data(), {1, 3, h, w}, at::kFloat);
  std::vector<at::Tensor> logits = loader.run({x});
  at::Tensor classes = logits[0].argmax(1).squeeze(0).to(at::kByte).contiguous();
  std::ofstream out(argv[5], std::ios::binary);
  out.write(reinterpret_cast<const char*>(classes.data_ptr<uint8_t>()), classes.numel());
  std::cout << "wrote " << argv[5] << ": " << classes.size(0) << "x" << classes.size(1) << " class map from "
            << logits[0].size(1) << " classes\n";
  return out ? 0 : 1;
}
