// Deliberately bad public shapes: the convention checks must report each of them (TheChecks_CatchWhatTheyLookFor).
#pragma warning disable CA1052, CA1068, CA1812, CA1822, CA1852
namespace SecureComms.AspNetCore.Tests.Fixtures.Conventions
{
    public class UnsealedClass
    {
    }

    public abstract class AbstractClass
    {
    }

    public sealed class BadAsyncMethods
    {
        public Task Fetch() => Task.CompletedTask;

        public Task TokenFirstAsync(CancellationToken cancellationToken, int count) => Task.Delay(count, cancellationToken);

        public Task GoodAsync(int count, CancellationToken cancellationToken) => Task.Delay(count, cancellationToken);
    }
}

namespace SecureComms.AspNetCore.Tests.Fixtures.Internal
{
    public sealed class PublicInInternal
    {
    }
}
