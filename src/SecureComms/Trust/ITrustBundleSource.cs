using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Supplies the current <see cref="TrustBundleSet"/> and signals when it changes (for example when bundle files are
/// rewritten on disk). Readers take <see cref="Current"/> once per use; it is an immutable snapshot.
/// </summary>
public interface ITrustBundleSource
{
    /// <summary>The current snapshot of trust bundles.</summary>
    TrustBundleSet Current { get; }

    /// <summary>A token that fires once when <see cref="Current"/> has been replaced.</summary>
    IChangeToken GetChangeToken();
}
