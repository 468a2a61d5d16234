using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Supplies this workload's own X.509-SVID and signals when it is rotated. Implementations keep the last good
/// certificate when a new one cannot be read, so <see cref="Current"/> never goes backwards to nothing.
/// </summary>
public interface ICertificateSource
{
    /// <summary>The current workload certificate (leaf with private key, plus intermediates).</summary>
    /// <exception cref="InvalidOperationException">No certificate has ever been loaded.</exception>
    WorkloadCertificate Current { get; }

    /// <summary>A token that fires once when <see cref="Current"/> has been replaced by a rotated certificate.</summary>
    IChangeToken GetChangeToken();
}
