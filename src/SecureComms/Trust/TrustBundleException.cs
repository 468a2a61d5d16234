namespace SecureComms;

/// <summary>A trust bundle could not be loaded; the message names the file and the problem.</summary>
internal sealed class TrustBundleException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The trust domain whose configured bundle file failed, when known (names the configuration key).</summary>
    public TrustDomain? TrustDomain { get; init; }
}
