using FsCheck;
using FsCheck.Fluent;

namespace SecureComms.Tests.Identity;

/// <summary>Property-based checks of the SPIFFE ID parser with FsCheck: 500 generated cases per property.</summary>
[TestClass]
public sealed class SpiffeIdPropertyTests
{
    private const string TrustDomainAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
    private const string SegmentAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
    private static readonly Config Cases = Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<string> Word(string alphabet, int maxLength) =>
        Gen.Choose(1, maxLength).SelectMany(length => Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length)).Select(chars => new string(chars));

    private static Gen<string> Segment() => Word(SegmentAlphabet, 12).Where(s => s is not ("." or ".."));

    private static Gen<string> ValidId() =>
        from trustDomain in Word(TrustDomainAlphabet, 30)
        from segments in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Segment(), n))
        select "spiffe://" + trustDomain + string.Concat(segments.Select(s => "/" + s));

    [TestMethod]
    public void GeneratedValidIds_AlwaysParse_AndRoundTrip()
    {
        Check.One(Cases, Prop.ForAll(ValidId().ToArbitrary(), text =>
        {
            SpiffeId id = SpiffeId.Parse(text);
            return id.ToString() == text && SpiffeId.Parse(id.ToString()) == id;
        }));
    }

    [TestMethod]
    public void ArbitraryStrings_EitherParseOrThrowFormatException_AndTryParseAgrees()
    {
        Gen<string> candidates = Gen.OneOf(
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null).Select(s => "spiffe://" + s),
            ValidId().SelectMany(id => ArbMap.Default.GeneratorFor<char>().Select(c => id + c)));
        Check.One(Cases, Prop.ForAll(candidates.ToArbitrary(), text =>
        {
            bool tried = SpiffeId.TryParse(text, out SpiffeId viaTry);
            try
            {
                SpiffeId parsed = SpiffeId.Parse(text);
                return tried && parsed == viaTry;
            }
            catch (FormatException)
            {
                return !tried;
            }
        }));
    }

    [TestMethod]
    public void AnyCharacterOutsideTheAlphabet_InAPathSegment_MakesTheIdInvalid()
    {
        Gen<char> outside = ArbMap.Default.GeneratorFor<char>().Where(c => !SegmentAlphabet.Contains(c, StringComparison.Ordinal) && c != '/');
        Gen<(string Id, int At, char Bad)> cases =
            from id in ValidId().Where(i => SpiffeId.Parse(i).Path.Length > 0)
            from at in Gen.Choose("spiffe://".Length, id.Length - 1).Where(i => id.IndexOf('/', "spiffe://".Length) < i)
            from bad in outside
            select (id, at, bad);
        Check.One(Cases, Prop.ForAll(cases.ToArbitrary(), c =>
            !SpiffeId.TryParse(c.Id.Insert(c.At + 1, c.Bad.ToString()), out _)));
    }

    [TestMethod]
    public void UppercaseInTheTrustDomain_IsAlwaysRefused()
    {
        Gen<(string Id, int At, char Upper)> cases =
            from id in ValidId()
            from at in Gen.Choose(0, SpiffeId.Parse(id).TrustDomain.Name.Length - 1)
            from upper in Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZ".ToCharArray())
            select (id, at, upper);
        Check.One(Cases, Prop.ForAll(cases.ToArbitrary(), c =>
        {
            string text = c.Id.Remove("spiffe://".Length + c.At, 1).Insert("spiffe://".Length + c.At, c.Upper.ToString());
            return !SpiffeId.TryParse(text, out _, out string? error) && error!.Contains("lowercase", StringComparison.Ordinal);
        }));
    }
}
