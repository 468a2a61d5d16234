using System.Security.Cryptography.X509Certificates;

namespace SecureComms;

/// <summary>
/// The chain policy handed to <c>SslStream</c> for its own pre-callback chain build. SecureComms ignores that build's
/// verdict (it validates against the peer's trust-domain bundle itself), so this policy only keeps the platform
/// from touching the system store, fetching intermediates (AIA) or checking revocation online.
/// </summary>
internal static class OfflinePlatformChainPolicy
{
    internal static X509ChainPolicy Create() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };
}
