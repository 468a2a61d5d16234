using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureComms.DevCert;

/// <summary>
/// What a person wants to see of a certificate: names, validity, key and usages. For display only: whether it is a
/// valid X.509-SVID is the library's validator's verdict, never decided here.
/// </summary>
internal static class CertificateDescription
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    public static void Write(TextWriter output, X509Certificate2 certificate, int intermediates, DateTimeOffset now)
    {
        (List<string> uris, List<string> dnsNames) = ReadSubjectAltNames(certificate);
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());

        Line(output, "SPIFFE ID", uris.Count switch
        {
            0 => "(none: no URI SAN)",
            1 => uris[0],
            _ => string.Join(", ", uris) + $" ({uris.Count} URI SANs)",
        });
        if (dnsNames.Count > 0)
        {
            Line(output, "DNS names", string.Join(", ", dnsNames));
        }

        Line(output, "subject", certificate.Subject.Length == 0 ? "(empty)" : certificate.Subject);
        Line(output, "issuer", certificate.Issuer);
        Line(output, "serial", certificate.SerialNumber);
        Line(output, "valid from", Durations.FormatInstant(notBefore));
        string remaining = now > notAfter
            ? $"expired {Durations.Format(now - notAfter)} ago"
            : now < notBefore ? $"not valid for another {Durations.Format(notBefore - now)}" : $"{Durations.Format(notAfter - now)} left";
        Line(output, "valid until", $"{Durations.FormatInstant(notAfter)} ({remaining}; lifetime {Durations.Format(notAfter - notBefore)})");
        Line(output, "key", DescribeKey(certificate));
        Line(output, "CA", IsAuthority(certificate) ? "yes (cA=true)" : "no");
        Line(output, "key usage", DescribeKeyUsage(certificate));
        Line(output, "extended key usage", DescribeExtendedKeyUsage(certificate));
        Line(output, "intermediates", intermediates.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Line(output, "SHA-256", Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)));
    }

    /// <summary>Writes <c>label: value</c> aligned with the other lines.</summary>
    public static void Line(TextWriter output, string label, string value) => output.WriteLine($"{label + ":",-20}{value}");

    private static bool IsAuthority(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension constraints)
            {
                return constraints.CertificateAuthority;
            }
        }

        return false;
    }

    private static string DescribeKey(X509Certificate2 certificate)
    {
        using ECDsa? ec = certificate.GetECDsaPublicKey();
        if (ec is not null)
        {
            return ec.KeySize switch
            {
                256 => "ECDSA P-256",
                384 => "ECDSA P-384",
                521 => "ECDSA P-521",
                _ => $"ECDSA ({ec.KeySize} bits)",
            };
        }

        using RSA? rsa = certificate.GetRSAPublicKey();
        return rsa is not null ? $"RSA {rsa.KeySize} bits" : certificate.GetKeyAlgorithm();
    }

    private static string DescribeKeyUsage(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509KeyUsageExtension usage)
            {
                return $"{usage.KeyUsages}{(usage.Critical ? " (critical)" : string.Empty)}";
            }
        }

        return "(none)";
    }

    private static string DescribeExtendedKeyUsage(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                var names = new List<string>();
                foreach (Oid oid in eku.EnhancedKeyUsages)
                {
                    names.Add(oid.Value switch
                    {
                        ClientAuthOid => "clientAuth",
                        ServerAuthOid => "serverAuth",
                        _ => oid.FriendlyName ?? oid.Value ?? "?",
                    });
                }

                return names.Count == 0 ? "(empty)" : string.Join(", ", names);
            }
        }

        return "(none: any usage)";
    }

    /// <summary>URI and DNS names of the SAN extension, read as written (RFC 5280 §4.2.1.6), never normalised.</summary>
    private static (List<string> Uris, List<string> DnsNames) ReadSubjectAltNames(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        var dnsNames = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            try
            {
                AsnReader names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                while (names.HasData)
                {
                    Asn1Tag tag = names.PeekTag();
                    if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 6 or 2)
                    {
                        string value = names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, tag.TagValue));
                        (tag.TagValue == 6 ? uris : dnsNames).Add(value);
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                uris.Add("(malformed subject alternative name)");
            }
        }

        return (uris, dnsNames);
    }
}
