using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>Reads the SPIFFE ID out of a certificate's subject alternative names (X509-SVID §2).</summary>
internal static class SvidInspector
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>Collects every URI SAN of the certificate.</summary>
    internal static List<string> GetUriSans(X509Certificate2 certificate)
    {
        var uris = new List<string>(1);
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            AsnReader names = reader.ReadSequence();
            reader.ThrowIfNotEmpty(); // trailing bytes after GeneralNames: malformed, not silently ignored
            while (names.HasData)
            {
                Asn1Tag tag = names.PeekTag();
                if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 6)
                {
                    // GeneralName uniformResourceIdentifier [6] IA5String (RFC 5280 §4.2.1.6)
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6)));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }

        return uris;
    }

    /// <summary>Finds exactly one URI SAN and parses it as a SPIFFE ID with a workload (non-root) path.</summary>
    internal static bool TryGetSpiffeId(X509Certificate2 certificate, out SpiffeId id, [NotNullWhen(false)] out string? error) =>
        TryGetSpiffeId(certificate, out id, out _, out error);

    /// <summary>As <see cref="TryGetSpiffeId(X509Certificate2, out SpiffeId, out string?)"/>, with the failure reason.</summary>
    internal static bool TryGetSpiffeId(X509Certificate2 certificate, out SpiffeId id, out SvidValidationFailure failure, [NotNullWhen(false)] out string? error)
    {
        id = default;
        List<string> uris;
        try
        {
            uris = GetUriSans(certificate);
        }
        catch (AsnContentException)
        {
            failure = SvidValidationFailure.InvalidSpiffeId;
            error = "the subject alternative name extension is malformed.";
            return false;
        }

        if (uris.Count == 0)
        {
            failure = SvidValidationFailure.MissingUriSan;
            error = "the certificate has no URI subject alternative name.";
            return false;
        }

        if (uris.Count > 1)
        {
            failure = SvidValidationFailure.MultipleUriSans;
            error = $"the certificate has {uris.Count} URI subject alternative names; an X.509-SVID has exactly one.";
            return false;
        }

        if (!SpiffeId.TryParse(uris[0], out id, out string? parseError))
        {
            failure = SvidValidationFailure.InvalidSpiffeId;
            error = $"the URI SAN is not a SPIFFE ID: {parseError}";
            return false;
        }

        if (id.IsTrustDomainId)
        {
            failure = SvidValidationFailure.TrustDomainIdAsWorkload;
            error = $"the SPIFFE ID '{id}' has no path; a trust domain ID cannot identify a workload.";
            return false;
        }

        failure = SvidValidationFailure.None;
        error = null;
        return true;
    }
}
