// dlib's own shape predictor, timed on the golden images: the reference our C# predictor is
// compared against (per-face microseconds, same machine, same run). Built by bench/run.sh when
// g++ and Debian's libdlib-dev are present. Usage: predict_timing MODEL GOLDEN_DIR REPEATS
#include <dlib/image_processing.h>
#include <dlib/image_io.h>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 4) { std::cerr << "usage: predict_timing MODEL GOLDEN_DIR REPEATS\n"; return 2; }
    using clk = std::chrono::steady_clock;
    auto t0 = clk::now();
    dlib::shape_predictor sp;
    dlib::deserialize(argv[1]) >> sp;
    double load_s = std::chrono::duration<double>(clk::now() - t0).count();
    std::string dir = argv[2];
    int repeats = std::stoi(argv[3]);
    // rows: image name and box, parsed from landmarks.jsonl without a JSON library
    std::ifstream in(dir + "/landmarks.jsonl");
    std::vector<std::pair<dlib::array2d<dlib::rgb_pixel>*, dlib::rectangle>> rows;
    std::string line;
    while (std::getline(in, line)) {
        auto img = line.substr(line.find("\"image\": \"") + 10);
        img = img.substr(0, img.find('"'));
        auto b = line.substr(line.find("\"box\": [") + 8);
        long l, t, r, bo; char c;
        std::istringstream bs(b); bs >> l >> c >> t >> c >> r >> c >> bo;
        auto* a = new dlib::array2d<dlib::rgb_pixel>();
        dlib::load_image(*a, dir + "/images/" + img);
        rows.push_back({a, dlib::rectangle(l, t, r, bo)});
    }
    double sink = 0;
    for (auto& row : rows) sink += sp(*row.first, row.second).part(0).x();  // warm-up
    auto t1 = clk::now();
    for (int k = 0; k < repeats; k++)
        for (auto& row : rows) sink += sp(*row.first, row.second).part(30).x();
    double per_face_us = std::chrono::duration<double, std::micro>(clk::now() - t1).count() / (repeats * rows.size());
    std::cout << "dlib_load_s " << load_s << "\ndlib_per_face_us " << per_face_us << "\nfaces " << rows.size() << " sink " << sink << "\n";
}
