// DlibReader: reads values written by dlib's serialize() (dlib/serialize.h, dlib/float_details.h).
// Requires: the whole serialized blob in memory.
// Guarantees: integers and floats decode exactly as dlib's deserialize() does; any malformed or
// truncated input raises InvalidDataException with the byte offset, never garbage values.
using System.Runtime.CompilerServices;

namespace Vivify.Faces;

internal ref struct DlibReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public DlibReader(ReadOnlySpan<byte> data) { _data = data; _pos = 0; }

    public int Position => _pos;
    public bool AtEnd => _pos >= _data.Length;

    /// <summary>dlib's signed integer: a control byte (bit 7 = negative, low nibble = byte count), then little-endian bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long ReadSigned()
    {
        int start = _pos;
        if (_pos >= _data.Length) throw Truncated(start);
        byte ctrl = _data[_pos++];
        bool negative = (ctrl & 0x80) != 0;
        int size = ctrl & 0x0F;
        if (size == 0 || size > 8) throw new InvalidDataException($"bad integer control byte 0x{ctrl:X2} at offset {start}");
        ulong v = ReadMagnitude(size, start);
        long r = (long)v;
        return negative ? -r : r;
    }

    /// <summary>dlib's unsigned integer: as signed but the sign bit must be clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ulong ReadUnsigned()
    {
        int start = _pos;
        if (_pos >= _data.Length) throw Truncated(start);
        byte ctrl = _data[_pos++];
        int size = ctrl & 0x8F;
        if (size == 0 || size > 8) throw new InvalidDataException($"bad unsigned control byte 0x{ctrl:X2} at offset {start}");
        return ReadMagnitude(size, start);
    }

    public int ReadCount(int max, string what)
    {
        ulong n = ReadUnsigned();
        if (n > (ulong)max) throw new InvalidDataException($"{what} count {n} exceeds {max} at offset {_pos}");
        return (int)n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong ReadMagnitude(int size, int start)
    {
        if (_pos + size > _data.Length) throw Truncated(start);
        ulong v = 0;
        for (int i = size - 1; i >= 0; i--) v = (v << 8) | _data[_pos + i];
        _pos += size;
        return v;
    }

    /// <summary>dlib's float: float_details (int64 mantissa, int16 exponent), value = ldexp((float)mantissa, exponent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float ReadFloat()
    {
        int start = _pos;
        if (_pos >= _data.Length) throw Truncated(start);
        if ((_data[_pos] & 0x70) != 0) throw new InvalidDataException($"old ASCII float format at offset {start} is not supported");
        long mantissa = ReadSigned();
        long exponent = ReadSigned();
        if (exponent < 32000) return MathF.ScaleB((float)mantissa, (int)exponent);
        return exponent switch
        {
            32000 => float.PositiveInfinity,
            32001 => float.NegativeInfinity,
            _ => float.NaN,
        };
    }

    /// <summary>A dlib column vector matrix&lt;float,0,1&gt;: -nr, -nc, then the elements row-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] ReadFloatColumn(int maxLength)
    {
        long nr = ReadSigned(), nc = ReadSigned();
        if (nr < 0) { nr = -nr; nc = -nc; }
        if (nc != 1 || nr > maxLength) throw new InvalidDataException($"expected a column vector of at most {maxLength}, found {nr}x{nc} at offset {_pos}");
        var v = new float[nr];
        for (int i = 0; i < v.Length; i++) v[i] = ReadFloat();
        return v;
    }

    private static InvalidDataException Truncated(int at) => new($"file ends early (at offset {at})");
}
