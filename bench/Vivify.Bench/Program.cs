// Vivify's benchmarks.
//   dotnet run -c Release --project bench/Vivify.Bench -- figures [--dlib-us N --dlib-load-s S]
//       quick Stopwatch figures for the README (model load, per-face prediction for the
//       reference and optimised paths, and dlib's C++ when its timing is passed in, tracking fps)
//   ... figures --animation-only     the whole pipeline alone (1024x1024 portrait, 10 s and 50 s)
//   ... figures --large-portrait     the same for a 12-megapixel portrait (3000x4000, 4 s)
//   ... figures --phone-driver       the same with a phone's clip as driver (cap12_edit scaled to 2880x2160 at 40 Mb/s, 10 s),
//                                  and its frames read through ffmpeg against OpenCV's decoder
//   ... figures --encode             H.264 encoding alone: BGR piped for ffmpeg to convert against yuv420p converted here
//   dotnet run -c Release --project bench/Vivify.Bench -- [BenchmarkDotNet arguments]
//       the BenchmarkDotNet suites (e.g. --filter '*Predictor*')
using BenchmarkDotNet.Running;
using Vivify.Bench;

if (args.Length > 0 && args[0] == "figures") return Figures.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Figures).Assembly).Run(args);
return 0;
