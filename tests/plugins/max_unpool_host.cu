// Runs max_unpool.cu's per-element function on the CPU (fp32), for the parity test against the
// NumPy reference. Usage: max_unpool_host KH KW N C H W < values.f32 source.f32 > out.f32
#include "max_unpool.cu"

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 7)
    {
        std::fprintf(stderr, "usage: %s KH KW N C H W\n", argv[0]);
        return 2;
    }
    int const kh = std::atoi(argv[1]), kw = std::atoi(argv[2]);
    int const n = std::atoi(argv[3]), c = std::atoi(argv[4]), h = std::atoi(argv[5]), w = std::atoi(argv[6]);
    int const in_h = h / kh, in_w = w / kw;
    std::vector<float> values(static_cast<size_t>(n) * c * in_h * in_w), source(static_cast<size_t>(n) * c * h * w);
    if (std::fread(values.data(), sizeof(float), values.size(), stdin) != values.size()
        || std::fread(source.data(), sizeof(float), source.size(), stdin) != source.size())
    {
        std::fprintf(stderr, "short input\n");
        return 2;
    }
    int const total = static_cast<int>(source.size());
    std::vector<float> out(total);
    for (int i = 0; i < total; ++i)
    {
        out[i] = max_unpool_element(values.data(), source.data(), i, h, w, in_h, in_w, kh, kw);
    }
    std::fwrite(out.data(), sizeof(float), out.size(), stdout);
    return 0;
}
