using Microsoft.Extensions.DependencyInjection;

namespace SecureComms;

/// <summary>Returned by <c>AddSecureComms</c>/<c>AddSecureCommsCore</c> for further, chained configuration.</summary>
public interface ISecureCommsBuilder
{
    /// <summary>The service collection SecureComms was added to.</summary>
    IServiceCollection Services { get; }
}

internal sealed class SecureCommsBuilder(IServiceCollection services) : ISecureCommsBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>Marks a service collection in which SecureComms' core services are registered, so a second call adds nothing twice.</summary>
internal sealed class SecureCommsCoreMarker
{
    internal HashSet<string> ConfiguredClients { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Configurations already bound: binding one twice would append every list item (listeners, rules) a second time.
    /// </summary>
    internal HashSet<object> BoundConfigurations { get; } = new(ReferenceEqualityComparer.Instance);
}
