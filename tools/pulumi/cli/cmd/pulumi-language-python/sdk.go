package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver"
	codegen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// GeneratePackage writes a Python SDK for a package schema (what `pulumi package add` does for a Python
// program, and `pulumi package gen-sdk --language python`), as upstream's host does.
func (h *host) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("reading the package schema: %w", err)
	}
	cached := schema.NewCachedLoader(loader)
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	response := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return response, nil
	}
	files, err := codegen.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), cached)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return response, nil
}

// Link adds generated SDKs to a Python program's requirements.txt (upstream's pip toolchain behaviour; the
// engine installs them next through InstallDependencies). Programs managed by poetry or uv are not supported.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)

	packages := map[string]string{} // Python distribution name -> SDK folder
	var imports strings.Builder
	for _, dep := range req.GetPackages() {
		if dep.GetPackage().GetName() == "pulumi" {
			packages["pulumi"] = dep.GetPath()
			continue
		}
		name, module, err := pythonNames(ctx, cached, dep.GetPackage())
		if err != nil {
			return nil, err
		}
		packages[name] = dep.GetPath()
		fmt.Fprintf(&imports, "  import %s as %s\n", name, module)
	}
	info := req.GetInfo()
	tc, err := toolchain.ResolveToolchain(toolchain.PythonOptions{
		Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory(), Toolchain: toolchain.Pip,
	})
	if err != nil {
		return nil, err
	}
	if err := tc.LinkPackages(ctx, packages); err != nil {
		return nil, fmt.Errorf("linking packages into %s: %w", filepath.Join(info.GetRootDirectory(),
			"requirements.txt"), err)
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your Python code with:\n\n" + imports.String(),
	}, nil
}

// pythonNames is the distribution name of a package's generated SDK and the module name to import it as.
func pythonNames(ctx context.Context, loader schema.ReferenceLoader, dep *pulumirpc.PackageDependency,
) (string, string, error) {
	desc := &schema.PackageDescriptor{Name: dep.GetName(), DownloadURL: dep.GetServer()}
	if v, err := semver.ParseTolerant(dep.GetVersion()); err == nil {
		desc.Version = &v
	}
	if p := dep.GetParameterization(); p != nil {
		desc.Parameterization = &schema.ParameterizationDescriptor{Name: p.GetName(), Value: p.GetValue()}
		if v, err := semver.ParseTolerant(p.GetVersion()); err == nil {
			desc.Parameterization.Version = v
		}
	}
	ref, err := schema.LoadPackageReferenceV2(ctx, loader, desc)
	if err != nil {
		return "", "", err
	}
	pkg, err := ref.Definition()
	if err != nil {
		return "", "", err
	}
	if err := pkg.ImportLanguages(map[string]schema.Language{"python": codegen.Importer}); err != nil {
		return "", "", err
	}
	if info, ok := pkg.Language["python"].(codegen.PackageInfo); ok && info.PackageName != "" {
		return info.PackageName, info.PackageName, nil
	}
	return codegen.PyPack(ref.Namespace(), ref.Name()), strings.ReplaceAll(ref.Name(), "-", "_"), nil
}
