using FsCheck;
using FsCheck.Fluent;

namespace SecureComms.Tests.Identity;

/// <summary>Property-based checks of the SPIFFE ID parser with FsCheck: at least 500 generated cases per property.</summary>
[TestClass]
public sealed class SpiffeIdPropertyTests
{
    private const string Scheme = "spiffe://";
    private const string TrustDomainAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
    private const string SegmentAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
    private const string Uppercase = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private static readonly Config Cases = Config.QuickThrowOnFailure.WithMaxTest(500);

    /// <summary>A character that can never appear in a path segment ('/' is left out: it only splits the segment).</summary>
    private static readonly Gen<char> OutsideSegmentAlphabet = Gen.OneOf(
        Gen.Elements(" !\"#$%&'()*+,:;<=>?@[\\]^`{|}~\0\t\r\n\u007F\u00A0\u00E9\u0130\u212A\u200B\u202E\uFEFF\uFF0F\uD83D".ToCharArray()),
        ArbMap.Default.GeneratorFor<char>()).Where(c => !SegmentAlphabet.Contains(c, StringComparison.Ordinal) && c != '/');

    private static Gen<string> Word(string alphabet, int maxLength) =>
        Gen.Choose(1, maxLength).SelectMany(length => Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length)).Select(chars => new string(chars));

    private static Gen<string> TrustDomainName() => Word(TrustDomainAlphabet, 40);

    private static Gen<string> Segment() => Word(SegmentAlphabet, 12).Where(s => s is not ("." or ".."));

    private static Gen<(string TrustDomain, string[] Segments)> ValidParts(int minSegments) =>
        from trustDomain in TrustDomainName()
        from segments in Gen.Choose(minSegments, 6).SelectMany(n => Gen.ArrayOf(Segment(), n))
        select (trustDomain, segments);

    private static string Join(string trustDomain, string[] segments) =>
        Scheme + trustDomain + (segments.Length == 0 ? string.Empty : "/" + string.Join('/', segments));

    private static Gen<string> ValidId() => ValidParts(0).Select(p => Join(p.TrustDomain, p.Segments));

    [TestMethod]
    public void IdsBuiltFromTheValidAlphabets_AlwaysParse_AndRoundTrip()
    {
        Check.One(Cases, Prop.ForAll(ValidParts(0).ToArbitrary(), parts =>
        {
            string text = Join(parts.TrustDomain, parts.Segments);
            string path = parts.Segments.Length == 0 ? string.Empty : "/" + string.Join('/', parts.Segments);

            bool parsed = SpiffeId.TryParse(text, out SpiffeId id, out string? error);
            return parsed
                && error is null
                && id.ToString() == text
                && SpiffeId.Parse(id.ToString()) == id
                && id.TrustDomain.Name == parts.TrustDomain
                && id.Path == path
                && id.IsTrustDomainId == (parts.Segments.Length == 0)
                && SpiffeId.FromPath(TrustDomain.Parse(parts.TrustDomain), path) == id;
        }));
    }

    [TestMethod]
    public void ArbitraryStrings_EitherParseOrThrowFormatException_AndTryParseAgrees()
    {
        Gen<string> anyString = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty);
        Gen<string> candidates = Gen.OneOf(
            anyString,
            anyString.Select(s => Scheme + s),
            anyString.Select(s => "spiffe://example.org/" + s),
            ValidId().SelectMany(id => ArbMap.Default.GeneratorFor<char>().Select(c => id + c)),
            ValidId().SelectMany(id => Gen.Choose(0, id.Length).SelectMany(at => ArbMap.Default.GeneratorFor<char>().Select(c => id.Insert(at, c.ToString())))),
            ValidId().SelectMany(id => Gen.Choose(0, id.Length - 1).Select(at => id.Remove(at, 1))));
        Check.One(Cases, Prop.ForAll(candidates.ToArbitrary(), text =>
        {
            bool tried = SpiffeId.TryParse(text, out SpiffeId viaTry, out string? error);
            if (tried != (error is null) || tried == viaTry.IsEmpty)
            {
                return false;
            }

            try
            {
                SpiffeId parsed = SpiffeId.Parse(text);
                return tried && parsed == viaTry && parsed.ToString() == text;
            }
            catch (FormatException ex)
            {
                return !tried && ex.Message.Contains(error!, StringComparison.Ordinal);
            }
        }));
    }

    [TestMethod]
    public void AnyCharacterOutsideTheAlphabet_InsertedIntoAPathSegment_MakesTheIdInvalid()
    {
        Gen<string> cases =
            from parts in ValidParts(1)
            from index in Gen.Choose(0, parts.Segments.Length - 1)
            from at in Gen.Choose(0, parts.Segments[index].Length)
            from bad in OutsideSegmentAlphabet
            select Join(parts.TrustDomain, WithInsert(parts.Segments, index, at, bad));
        Check.One(Cases, Prop.ForAll(cases.ToArbitrary(), text =>
            !SpiffeId.TryParse(text, out SpiffeId id, out string? error) && id.IsEmpty && error!.Length > 0));
    }

    [TestMethod]
    public void UppercaseInTheTrustDomain_IsAlwaysRefused()
    {
        Gen<string> cases =
            from parts in ValidParts(0)
            from at in Gen.Choose(0, parts.TrustDomain.Length - 1)
            from upper in Gen.Elements(Uppercase.ToCharArray())
            from replace in ArbMap.Default.GeneratorFor<bool>()
            let trustDomain = replace
                ? parts.TrustDomain.Remove(at, 1).Insert(at, upper.ToString())
                : parts.TrustDomain.Insert(at, upper.ToString())
            select Join(trustDomain, parts.Segments);
        Check.One(Cases, Prop.ForAll(cases.ToArbitrary(), text =>
            !SpiffeId.TryParse(text, out _, out string? error)
            && error!.Contains("lowercase", StringComparison.Ordinal)
            && !TrustDomain.TryParse(text, out _)));
    }

    private static string[] WithInsert(string[] segments, int index, int at, char bad)
    {
        string[] copy = (string[])segments.Clone();
        copy[index] = copy[index].Insert(at, bad.ToString());
        return copy;
    }
}
