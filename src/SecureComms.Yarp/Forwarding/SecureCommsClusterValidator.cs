using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Configuration.ClusterValidators;

namespace SecureComms;

/// <summary>
/// YARP's validation of each cluster, extended by <see cref="ClusterClientCheck"/>: on the first load a cluster that
/// cannot be forwarded over SecureComms stops start-up; on a reload YARP logs it and keeps the last good configuration.
/// </summary>
internal sealed class SecureCommsClusterValidator(ClusterClientCheck check) : IClusterValidator
{
    public ValueTask ValidateAsync(ClusterConfig cluster, IList<Exception> errors)
    {
        foreach (string problem in check.Problems(cluster))
        {
            errors.Add(new InvalidOperationException(problem));
        }

        return ValueTask.CompletedTask;
    }
}
