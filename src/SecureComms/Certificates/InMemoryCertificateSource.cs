using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// A workload certificate held in memory and rotated in code with <see cref="Update"/>: for tests, samples, and
/// certificates that arrive from somewhere other than files (for example a SPIFFE Workload API client).
/// </summary>
public sealed class InMemoryCertificateSource : IDisposable, ICertificateSource
{
    private WorkloadCertificate _current;
    private readonly ChangeSignal _changed = new();

    /// <summary>Starts with <paramref name="certificate"/>.</summary>
    public InMemoryCertificateSource(WorkloadCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        _current = certificate;
    }

    /// <inheritdoc />
    public WorkloadCertificate Current => Volatile.Read(ref _current);

    /// <inheritdoc />
    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    /// <summary>Rotates to <paramref name="certificate"/> and signals the change.</summary>
    public void Update(WorkloadCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        Volatile.Write(ref _current, certificate);
        _changed.Signal();
    }

    /// <summary>Releases the change signal.</summary>
    public void Dispose() => _changed.Dispose();
}
