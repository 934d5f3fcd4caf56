using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Memo.Node.Raft;

namespace Memo.Raft.Tests.Core;

/// <summary>
/// The Raft core must stay a pure state machine: this reads the compiled Memo.Node assembly's metadata and IL and
/// lists every type and member the types of namespace Memo.Node.Raft refer to (base types, fields, signatures,
/// and every token in method bodies), then rejects networking, threading, time, I/O, ambient randomness and
/// storage APIs. A source grep could miss usings, aliases or fully qualified names; the compiled references cannot.
/// </summary>
public sealed class RaftPurityTests
{
    private static readonly string[] ForbiddenNamespaces =
    [
        "System.Net", "System.Threading", "System.IO", "Microsoft.Data", "Memo.Node.Storage", "System.Net.Http", "System.Net.Sockets",
        // Actors drive the core from outside (the replica actor); nothing of Akka belongs inside it.
        "Akka",
    ];

    private static readonly string[] ForbiddenTypes =
    [
        "System.DateTime", "System.DateTimeOffset", "System.Diagnostics.Stopwatch", "System.TimeProvider", "System.Random",
        "System.Environment", "System.GC", "System.Console",
    ];

    [Fact]
    public void Raft_core_references_no_networking_threading_time_io_randomness_storage_or_Akka_api()
    {
        var references = ReferencedTypes(typeof(RaftNode).Assembly.Location, "Memo.Node.Raft");
        Assert.Contains("System.Collections.Generic.Dictionary`2", references);
        Assert.True(references.Count > 30, $"suspiciously few references found: {references.Count}");
        var forbidden = references.Where(IsForbidden).Order().ToList();
        Assert.True(forbidden.Count == 0, "Raft core references forbidden APIs: " + string.Join(", ", forbidden));
    }

    [Fact]
    public void Purity_scan_flags_the_storage_adapter_which_does_io()
    {
        // The scanner must be able to fail: the silo adapter next door uses tasks and the storage namespace.
        var references = ReferencedTypes(typeof(RaftNode).Assembly.Location, "Memo.Node.Shards");
        Assert.Contains(references, r => r.StartsWith("Memo.Node.Storage.", StringComparison.Ordinal));
        Assert.Contains(references, r => r.StartsWith("System.Threading.Tasks.", StringComparison.Ordinal));
    }

    [Fact]
    public void Purity_scan_flags_the_peer_transport_which_uses_Akka()
    {
        // The Akka rule must be able to fail too: the Akka.Remote transport's actors are scanned the same way.
        var references = ReferencedTypes(typeof(RaftNode).Assembly.Location, "Memo.Node.Transport");
        Assert.Contains(references, r => r.StartsWith("Akka.Actor.", StringComparison.Ordinal));
        Assert.Contains(references, IsForbidden);
    }

    private static bool IsForbidden(string fullName)
    {
        var ns = fullName.Contains('.') ? fullName[..fullName.LastIndexOf('.')] : "";
        var plain = fullName.Split('`')[0];
        return ForbiddenNamespaces.Any(f => ns == f || ns.StartsWith(f + ".", StringComparison.Ordinal))
            || ForbiddenTypes.Contains(plain);
    }

    private static HashSet<string> ReferencedTypes(string assemblyPath, string ns)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var provider = new NameProvider(md);
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var typeHandle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(typeHandle);
            if (OuterNamespace(md, type) != ns)
            {
                continue;
            }

            AddEntity(md, provider, type.BaseType, found);
            foreach (var i in type.GetInterfaceImplementations())
            {
                AddEntity(md, provider, md.GetInterfaceImplementation(i).Interface, found);
            }

            foreach (var f in type.GetFields())
            {
                AddSignature(md.GetFieldDefinition(f).DecodeSignature(provider, null), found);
            }

            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                var sig = method.DecodeSignature(provider, null);
                AddSignature(sig.ReturnType, found);
                foreach (var p in sig.ParameterTypes)
                {
                    AddSignature(p, found);
                }

                if (method.RelativeVirtualAddress == 0)
                {
                    continue;
                }

                var body = pe.GetMethodBody(method.RelativeVirtualAddress);
                if (!body.LocalSignature.IsNil)
                {
                    foreach (var local in md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null))
                    {
                        AddSignature(local, found);
                    }
                }

                foreach (var token in IlTokens(body.GetILBytes()!))
                {
                    AddEntity(md, provider, MetadataTokens.EntityHandle(token), found);
                }
            }
        }

        return found;
    }

    private static string OuterNamespace(MetadataReader md, TypeDefinition type)
    {
        while (type.IsNested)
        {
            type = md.GetTypeDefinition(type.GetDeclaringType());
        }

        return md.GetString(type.Namespace);
    }

    private static void AddSignature(string signature, HashSet<string> found)
    {
        foreach (var part in signature.Split(['<', '>', ',', '[', ']', '*', '&', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            found.Add(part);
        }
    }

    private static void AddEntity(MetadataReader md, NameProvider provider, EntityHandle handle, HashSet<string> found)
    {
        if (handle.IsNil)
        {
            return;
        }

        switch (handle.Kind)
        {
            case HandleKind.TypeReference:
            case HandleKind.TypeDefinition:
            case HandleKind.TypeSpecification:
                AddSignature(provider.Name(handle), found);
                break;
            case HandleKind.MemberReference:
                var member = md.GetMemberReference((MemberReferenceHandle)handle);
                AddEntity(md, provider, member.Parent, found);
                if (member.GetKind() == MemberReferenceKind.Method)
                {
                    var sig = member.DecodeMethodSignature(provider, null);
                    AddSignature(sig.ReturnType, found);
                    sig.ParameterTypes.ToList().ForEach(p => AddSignature(p, found));
                }
                else
                {
                    AddSignature(member.DecodeFieldSignature(provider, null), found);
                }

                break;
            case HandleKind.MethodDefinition:
                AddEntity(md, provider, md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType(), found);
                break;
            case HandleKind.FieldDefinition:
                AddEntity(md, provider, md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType(), found);
                break;
            case HandleKind.MethodSpecification:
                var spec = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                AddEntity(md, provider, spec.Method, found);
                spec.DecodeSignature(provider, null).ToList().ForEach(a => AddSignature(a, found));
                break;
        }
    }

    /// <summary>Every metadata token operand in an IL stream.</summary>
    private static IEnumerable<int> IlTokens(byte[] il)
    {
        var oneByte = new OpCode[0x100];
        var twoByte = new OpCode[0x100];
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            var value = (ushort)op.Value;
            if (value < 0x100)
            {
                oneByte[value] = op;
            }
            else if ((value & 0xff00) == 0xfe00)
            {
                twoByte[value & 0xff] = op;
            }
        }

        var i = 0;
        while (i < il.Length)
        {
            var op = il[i] == 0xfe ? twoByte[il[++i]] : oneByte[il[i]];
            i++;
            switch (op.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    yield return BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    var n = BitConverter.ToInt32(il, i);
                    i += 4 + 4 * n;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineBrTarget or OperandType.InlineI or OperandType.InlineSig or OperandType.InlineString or OperandType.ShortInlineR:
                    i += 4;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
            }
        }
    }

    /// <summary>Renders types in signatures as full names (generic arguments in angle brackets).</summary>
    private sealed class NameProvider(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        public string Name(EntityHandle handle) => handle.Kind switch
        {
            HandleKind.TypeDefinition => GetTypeFromDefinition(md, (TypeDefinitionHandle)handle, 0),
            HandleKind.TypeReference => GetTypeFromReference(md, (TypeReferenceHandle)handle, 0),
            HandleKind.TypeSpecification => GetTypeFromSpecification(md, null, (TypeSpecificationHandle)handle, 0),
            _ => "",
        };

        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[]";

        public string GetByReferenceType(string elementType) => elementType + "&";

        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";

        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType + "<" + string.Join(",", typeArguments) + ">";

        public string GetGenericMethodParameter(object? genericContext, int index) => "!!" + index;

        public string GetGenericTypeParameter(object? genericContext, int index) => "!" + index;

        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;

        public string GetPinnedType(string elementType) => elementType;

        public string GetPointerType(string elementType) => elementType + "*";

        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => "System." + typeCode;

        public string GetSZArrayType(string elementType) => elementType + "[]";

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            var t = reader.GetTypeDefinition(handle);
            return t.IsNested
                ? GetTypeFromDefinition(reader, t.GetDeclaringType(), 0) + "/" + reader.GetString(t.Name)
                : Join(reader.GetString(t.Namespace), reader.GetString(t.Name));
        }

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            var t = reader.GetTypeReference(handle);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? GetTypeFromReference(reader, (TypeReferenceHandle)t.ResolutionScope, 0) + "/" + reader.GetString(t.Name)
                : Join(reader.GetString(t.Namespace), reader.GetString(t.Name));
        }

        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        private static string Join(string ns, string name) => ns.Length == 0 ? name : ns + "." + name;
    }
}
