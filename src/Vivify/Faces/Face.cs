// Face: one detected face: its box (dlib convention) and its landmarks in image pixels.
using Vivify.Geometry;

namespace Vivify.Faces;

public sealed record Face(FaceBox Box, PointD[] Landmarks)
{
    public double InterOcularDistance => FaceLandmarks.InterOcularDistance(Landmarks);
}
